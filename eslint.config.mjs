import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", ".tools/", ".state/", "dist/", "web/dist/", "test-artifacts/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        URL: "readonly",
        TextEncoder: "readonly",
        TextDecoder: "readonly",
        fetch: "readonly",
        Headers: "readonly",
        AbortController: "readonly",
        AbortSignal: "readonly",
        Buffer: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/ban-ts-comment": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-console": ["error", { allow: ["error", "log"] }],
    },
  },
  {
    // Domain boundaries: a domain reaches another only through that domain's index.ts, and _shared (below every
    // domain) reaches none. The gateway (api/) is on top: no domain imports it.
    files: ["services/**/*.ts"],
    ignores: ["services/registry.ts", "services/main.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: "^\\.\\./(auth|audit|clusters|stacks|deployments|notifications)/(?!index\\.js$)",
              message: "Import another domain through its index.ts only.",
            },
            {
              regex: "^(\\.\\./)+api/",
              message: "The gateway is on top: domains must not import from services/api/.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["services/_shared/**/*.ts"],
    ignores: ["services/_shared/testing/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: "^\\.\\./(auth|audit|clusters|stacks|deployments|notifications|api)/",
              message: "services/_shared is below every domain and must not import one.",
            },
          ],
        },
      ],
    },
  },
  {
    // chai assertions read as expressions (`expect(x).to.be.true`).
    files: ["**/*.spec.ts", "**/*.spec.tsx"],
    rules: { "@typescript-eslint/no-unused-expressions": "off" },
  },
);

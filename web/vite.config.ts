import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

const root = fileURLToPath(new URL(".", import.meta.url));
/** The control plane `make dev` starts; override to point the dev server elsewhere. */
const apiTarget = process.env.STACKYARD_API_URL ?? "http://127.0.0.1:8080";
const proxy = Object.fromEntries(["/v1", "/healthz", "/readyz", "/openapi.yaml"].map((p) => [p, apiTarget]));

export default defineConfig({
  root,
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true },
  server: { host: "127.0.0.1", port: 5173, strictPort: true, proxy },
  preview: { host: "127.0.0.1", port: 4173, proxy },
});

import { expect } from "chai";
import { ManifestValidationError, manifestHooks, parseManifest } from "./manifest.js";

function refusal(text: string, services = ["web", "db"]): ManifestValidationError {
  try {
    parseManifest(text, services);
  } catch (err) {
    if (err instanceof ManifestValidationError) return err;
    throw err;
  }
  throw new Error("expected the manifest to be refused");
}

describe("release manifest (stackyard.yaml)", () => {
  it("accepts hooks, the compose path and the deploy timeout", () => {
    const m = parseManifest(
      [
        "version: 1",
        "compose: deploy/compose.yaml",
        "deploy:",
        "  timeoutSeconds: 600",
        "hooks:",
        "  pre_deploy:",
        "    service: web",
        "    command: [npm, run, migrate]",
        "  post_deploy:",
        "    service: db",
        "    command: [sh, -c, 'echo done']",
        "    timeoutSeconds: 30",
      ].join("\n"),
      ["web", "db"],
    );
    expect(m.compose).to.equal("deploy/compose.yaml");
    expect(manifestHooks(m)).to.deep.equal([
      { phase: "pre_deploy", service: "web", command: ["npm", "run", "migrate"], timeoutSeconds: 300 },
      { phase: "post_deploy", service: "db", command: ["sh", "-c", "echo done"], timeoutSeconds: 30 },
    ]);
  });

  it("accepts an empty manifest", () => {
    expect(parseManifest("", ["web"])).to.deep.equal({});
    expect(manifestHooks(null)).to.deep.equal([]);
  });

  it("names the line and column of an unknown key", () => {
    const err = refusal("hooks:\n  pre_deploy:\n    service: web\n    command: [a]\n    retries: 3\n");
    expect(err.type).to.equal("MANIFEST_SCHEMA");
    expect(err.code).to.equal(422);
    const [first] = (err.data as { errors: Array<{ path: string; line: number; column: number }> }).errors;
    expect(first).to.include({ path: "hooks.pre_deploy.retries", line: 5, column: 5 });
    expect(err.message).to.contain("line 5, column 5");
  });

  it("names the line of a value of the wrong type and of a missing property", () => {
    const err = refusal("deploy:\n  timeoutSeconds: soon\nhooks:\n  post_deploy:\n    service: web\n");
    const errors = (err.data as { errors: Array<{ path: string; line: number; message: string }> }).errors;
    expect(errors).to.deep.include({ path: "deploy.timeoutSeconds", message: "must be integer", line: 2, column: 19 });
    expect(errors.find((e) => e.path === "hooks.post_deploy")).to.include({ line: 5 });
  });

  it("refuses a hook naming no service of the compose file, with its line", () => {
    const err = refusal("hooks:\n  pre_deploy:\n    service: worker\n    command: [x]\n");
    expect(err.type).to.equal("MANIFEST_HOOK_SERVICE_UNKNOWN");
    expect(err.data).to.include({ line: 3, column: 14 });
  });

  it("refuses invalid YAML with its position", () => {
    const err = refusal("hooks:\n  pre_deploy: [\n");
    expect(err.type).to.equal("MANIFEST_INVALID_YAML");
    expect((err.data as { line: number }).line).to.be.a("number");
  });
});

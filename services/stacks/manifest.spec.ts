import { expect } from "chai";
import { ManifestValidationError, manifestHealthGrace, manifestHooks, parseManifest } from "./manifest.js";

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

  it("accepts a health grace per service and hands on those of the rendered services", () => {
    const m = parseManifest("services:\n  web:\n    healthGraceSeconds: 20\n  db:\n    healthGraceSeconds: 0\n", [
      "web",
      "db",
    ]);
    expect(m.services).to.deep.equal({ web: { healthGraceSeconds: 20 }, db: { healthGraceSeconds: 0 } });
    expect(manifestHealthGrace(m, ["web", "db"])).to.deep.equal({ web: 20, db: 0 });
    expect(manifestHealthGrace(m, ["web"])).to.deep.equal({ web: 20 });
    expect(manifestHealthGrace(null, ["web"])).to.deep.equal({});
  });

  it("refuses a health grace naming no service of the compose file, with the key's line and the path", () => {
    const err = refusal("services:\n  web:\n    healthGraceSeconds: 5\n  worker:\n    healthGraceSeconds: 5\n");
    expect(err.type).to.equal("MANIFEST_SERVICE_UNKNOWN");
    expect(err.code).to.equal(422);
    const [first] = (err.data as { errors: Array<{ path: string; line: number; column: number }> }).errors;
    expect(first).to.include({ path: "services.worker", line: 4, column: 3 });
    expect(err.message).to.equal(
      "stackyard.yaml at line 4, column 3: services.worker names no service of the compose file (web, db)",
    );
  });

  it("refuses a negative, fractional or missing health grace, and unknown service settings, with their lines", () => {
    const negative = refusal("services:\n  web:\n    healthGraceSeconds: -1\n");
    expect(negative.type).to.equal("MANIFEST_SCHEMA");
    const errors = (negative.data as { errors: Array<{ path: string; line: number; message: string }> }).errors;
    expect(errors[0]).to.include({ path: "services.web.healthGraceSeconds", line: 3, message: "must be >= 0" });
    const fractional = refusal("services:\n  web:\n    healthGraceSeconds: 1.5\n");
    expect((fractional.data as { errors: Array<{ message: string }> }).errors[0]?.message).to.equal("must be integer");
    const tooLong = refusal("services:\n  web:\n    healthGraceSeconds: 3601\n");
    expect(tooLong.message).to.contain("services.web.healthGraceSeconds must be <= 3600");
    const unknown = refusal("services:\n  web:\n    healthGraceSeconds: 5\n    grace: 5\n");
    expect((unknown.data as { errors: Array<{ path: string; line: number }> }).errors[0]).to.include({
      path: "services.web.grace",
      line: 4,
    });
    const missing = refusal("services:\n  web: {}\n");
    expect(missing.message).to.contain("services.web must have the property healthGraceSeconds");
  });

  it("refuses invalid YAML with its position", () => {
    const err = refusal("hooks:\n  pre_deploy: [\n");
    expect(err.type).to.equal("MANIFEST_INVALID_YAML");
    expect((err.data as { line: number }).line).to.be.a("number");
  });
});

import { render, screen, within } from "@testing-library/react";
import { expect } from "chai";
import { ReleaseManifest } from "./ReleaseManifest.js";

describe("ReleaseManifest", () => {
  it("shows the hooks with their service, command and timeout, the deploy timeout and the file", () => {
    const manifestYaml =
      "deploy:\n  timeoutSeconds: 600\nhooks:\n  pre_deploy:\n    service: web\n    command: [npm, run, migrate]\n";
    render(
      <ReleaseManifest
        release={{
          version: 4,
          manifestYaml,
          manifest: {
            deploy: { timeoutSeconds: 600 },
            hooks: {
              pre_deploy: { service: "web", command: ["npm", "run", "migrate"] },
              post_deploy: { service: "web", command: ["sh", "-c", "echo done"], timeoutSeconds: 20 },
            },
          },
        }}
      />,
    );
    const section = screen.getByRole("region", { name: "Release manifest" });
    expect(section.textContent).to.contain("600s (replaces the environment's)");
    const rows = within(section).getAllByRole("row").slice(1);
    expect(rows).to.have.length(2);
    expect(rows[0]!.textContent).to.contain("pre_deploy").and.contain("npm run migrate").and.contain("300s");
    expect(rows[0]!.textContent).to.contain("a failure aborts before any service changes");
    expect(rows[1]!.textContent).to.contain("post_deploy").and.contain('sh -c "echo done"').and.contain("20s");
    expect(section.textContent).to.contain("npm, run, migrate");
  });

  it("says when a release has no manifest", () => {
    render(<ReleaseManifest release={{ version: 1, manifestYaml: null, manifest: null }} />);
    expect(screen.getByRole("region", { name: "Release manifest" }).textContent).to.contain(
      "No stackyard.yaml: no hooks",
    );
  });
});

import { fireEvent, render, screen } from "@testing-library/react";
import { expect } from "chai";
import { ApiError } from "../api/client.js";
import type { ServiceStatus } from "../api/types.js";
import { ScaleDialog } from "../pages/EnvironmentPage/ServicesPanel.js";
import { UploadReleaseDialog } from "../pages/StackPage/StackDialogs.js";
import { composeMarks } from "./compose-locate.js";
import { ErrorNotice } from "./ErrorNotice.js";

const COMPOSE = [
  "services:",
  "  web:",
  "    image: nginx:1.27",
  "    frobnicate: true",
  "    deploy:",
  "      replicas: two",
].join("\n");
const schemaError = new ApiError(
  422,
  "COMPOSE_SCHEMA",
  "invalid compose file: services.web.deploy.replicas must be integer",
  [
    { path: "services.web.deploy.replicas", message: "must be integer" },
    { path: "services.web.frobnicate", message: "is not allowed here" },
  ],
);
const yamlError = new ApiError(
  422,
  "COMPOSE_INVALID_YAML",
  "invalid YAML at line 4, column 1: All mapping items must start at the same column",
  { line: 4, column: 1, yamlCode: "BAD_INDENT" },
);

describe("errors keep their paths", () => {
  it("lists each compose problem with its path", () => {
    render(<ErrorNotice error={schemaError} />);
    const alert = screen.getByRole("alert");
    expect(alert.textContent).to.include("The compose file is not valid");
    const items = [...alert.querySelectorAll("li")].map((li) => li.textContent);
    expect(items).to.deep.equal([
      "services.web.deploy.replicas: must be integer",
      "services.web.frobnicate: is not allowed here",
    ]);
  });

  it("names the gateway's field and the property it refused", () => {
    const err = new ApiError(400, "VALIDATION_FAILED", "body/git: must NOT have additional properties", [
      { in: "body", path: "/git", message: "must NOT have additional properties", property: "frobnicate" },
    ]);
    render(<ErrorNotice error={err} />);
    expect(screen.getByRole("alert").textContent).to.include("git.frobnicate: is not allowed here");
  });

  it("says a YAML error's line and column, without a dangling colon", () => {
    render(<ErrorNotice error={yamlError} />);
    const text = screen.getByRole("alert").textContent ?? "";
    expect(text).to.include("line 4, column 1: All mapping items must start at the same column");
    expect(text).not.to.match(/column \d+:\s*$/m);
  });

  it("finds the lines of schema errors in the text, the key's line for a key that is not allowed", () => {
    expect(composeMarks(COMPOSE, schemaError).map((m) => [m.line, m.column, m.message])).to.deep.equal([
      [6, 7, "services.web.deploy.replicas: must be integer"],
      [4, 5, "services.web.frobnicate: is not allowed here"],
    ]);
    expect(composeMarks(COMPOSE, yamlError)).to.deep.equal([
      { line: 4, column: 1, message: "invalid YAML: All mapping items must start at the same column" },
    ]);
  });

  it("marks the lines in the upload dialog's editor and selects the first", () => {
    let submitted = 0;
    const props = { busy: false, onClose: () => undefined, onSubmit: () => void submitted++ };
    const { rerender } = render(<UploadReleaseDialog {...props} error={undefined} />);
    const editor = screen.getByRole<HTMLTextAreaElement>("textbox", { name: /paste it/ });
    fireEvent.change(editor, { target: { value: COMPOSE } });
    fireEvent.click(screen.getByRole("button", { name: "Create release" }));
    expect(submitted).to.equal(1);
    rerender(<UploadReleaseDialog {...props} error={schemaError} />);
    const marks = screen.getByRole("list", { name: "Problems in the compose file" });
    expect(marks.textContent).to.include("Line 6, column 7: services.web.deploy.replicas: must be integer");
    expect(marks.textContent).to.include("replicas: two");
    expect(editor.getAttribute("aria-invalid")).to.equal("true");
    expect(COMPOSE.slice(editor.selectionStart, editor.selectionEnd)).to.equal("      replicas: two");
    // Edited text is no longer the text the error was about: the marks go.
    fireEvent.change(editor, { target: { value: COMPOSE.replace("two", "2") } });
    expect(screen.queryByRole("list", { name: "Problems in the compose file" })).to.equal(null);
  });

  it("sends the manifest with the upload only when one was given", () => {
    const sent: unknown[] = [];
    render(
      <UploadReleaseDialog
        busy={false}
        error={undefined}
        onClose={() => undefined}
        onSubmit={(input) => void sent.push(input)}
      />,
    );
    fireEvent.change(screen.getByRole("textbox", { name: /paste it/ }), { target: { value: COMPOSE } });
    fireEvent.click(screen.getByRole("button", { name: "Create release" }));
    const manifest = "hooks:\n  pre_deploy:\n    service: web\n    command: [migrate]\n";
    fireEvent.change(screen.getByRole("textbox", { name: "Manifest" }), { target: { value: manifest } });
    fireEvent.click(screen.getByRole("button", { name: "Create release" }));
    expect(sent).to.deep.equal([{ composeYaml: COMPOSE }, { composeYaml: COMPOSE, manifestYaml: manifest }]);
  });

  it("says why Scale is disabled for replicas -1", () => {
    const service = { name: "shop_web", desiredReplicas: 2, runningReplicas: 2 } as ServiceStatus;
    render(
      <ScaleDialog
        service={service}
        busy={false}
        error={undefined}
        onSubmit={() => undefined}
        onClose={() => undefined}
      />,
    );
    fireEvent.change(screen.getByRole("spinbutton", { name: /Replicas/ }), { target: { value: "-1" } });
    const button = screen.getByRole<HTMLButtonElement>("button", { name: "Scale" });
    expect(button.disabled).to.equal(true);
    expect(button.title).to.include("whole number from 0 to 1000");
    expect(screen.getByRole("status").textContent).to.include("Scale is disabled: replicas must be a whole number");
  });
});

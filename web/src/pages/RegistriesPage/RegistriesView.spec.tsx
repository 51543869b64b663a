import { fireEvent, screen } from "@testing-library/react";
import { expect } from "chai";
import { ApiError } from "../../api/client.js";
import type { CreateRegistryCredentialInput } from "../../api/hooks/registries.js";
import type { RegistryCredential } from "../../api/types.js";
import { renderInRouter } from "../../../test/render.js";
import { RegistriesPanel } from "../EnvironmentPage/RegistriesPanel.js";
import { RegistriesView, RegistryCredentialDialog } from "./RegistriesView.js";

const credential = (over: Partial<RegistryCredential> = {}): RegistryCredential => ({
  id: "11111111-1111-4111-8111-111111111111",
  name: "ghcr",
  registry: "ghcr.io",
  username: "deployer",
  version: 2,
  createdAt: new Date().toISOString(),
  updatedAt: new Date().toISOString(),
  updatedBy: null,
  ...over,
});

describe("registry credentials (web)", () => {
  it("lists registry, username and version, and offers changes only with secrets:write", () => {
    const changed: string[] = [];
    renderInRouter(
      <RegistriesView
        state={{ data: [credential()], error: undefined, isLoading: false, onRetry: () => undefined }}
        canWrite
        onCreate={() => undefined}
        onChange={(c) => changed.push(c.name)}
        onDelete={() => undefined}
      />,
    );
    const row = document.querySelector('[data-credential="ghcr"]')!;
    expect(row.textContent).to.contain("ghcr.io").and.contain("deployer").and.contain("v2");
    fireEvent.click(screen.getByRole("button", { name: "Change login" }));
    expect(changed).to.deep.equal(["ghcr"]);
  });

  it("sends a new credential with the registry lower-cased, and shows the API's whole error", () => {
    const sent: CreateRegistryCredentialInput[] = [];
    const error = new ApiError(409, "REGISTRY_CREDENTIAL_EXISTS", 'a registry credential named "ghcr" exists', {});
    renderInRouter(
      <RegistryCredentialDialog
        existing={null}
        busy={false}
        error={error}
        onSubmit={(i) => sent.push(i)}
        onClose={() => undefined}
      />,
    );
    fireEvent.change(screen.getByLabelText("Name"), { target: { value: "ghcr" } });
    fireEvent.change(screen.getByLabelText(/^Registry/), { target: { value: "GHCR.io" } });
    fireEvent.change(screen.getByLabelText("Username"), { target: { value: "deployer" } });
    fireEvent.change(screen.getByLabelText(/^Password or token/), { target: { value: "ghp_x" } });
    fireEvent.submit(screen.getByRole("button", { name: "Add credential" }).closest("form")!);
    expect(sent).to.deep.equal([{ name: "ghcr", registry: "ghcr.io", username: "deployer", password: "ghp_x" }]);
    expect(screen.getByRole("alert").textContent).to.contain('a registry credential named "ghcr" exists');
  });

  it("on an environment: lists the attached ones and attaches another from the org's", () => {
    const attached: string[] = [];
    const other = credential({ id: "22222222-2222-4222-8222-222222222222", name: "hub", registry: "docker.io" });
    renderInRouter(
      <RegistriesPanel
        state={{ data: [credential()], error: undefined, isLoading: false, onRetry: () => undefined }}
        available={[credential(), other]}
        canWrite
        busy={false}
        error={undefined}
        onAttach={(id) => attached.push(id)}
        onDetach={() => undefined}
      />,
    );
    expect(document.querySelector('[data-registry="ghcr.io"]')).to.not.equal(null);
    const select = screen.getByLabelText("Attach") as HTMLSelectElement;
    expect([...select.options].map((o) => o.textContent)).to.deep.equal(["Choose a credential…", "hub (docker.io)"]);
    fireEvent.change(select, { target: { value: other.id } });
    fireEvent.submit(select.closest("form")!);
    expect(attached).to.deep.equal([other.id]);
  });
});

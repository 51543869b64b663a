import { fireEvent, screen } from "@testing-library/react";
import { expect } from "chai";
import { ApiError } from "../../api/client.js";
import type { CreatedIntegrationCredential, IntegrationCredential } from "../../api/types.js";
import type { AsyncState } from "../../components/AsyncContent.js";
import { renderInRouter } from "../../../test/render.js";
import { CreateIntegrationDialog, credsFileName } from "./CreateIntegrationDialog.js";
import { IntegrationsView } from "./IntegrationsView.js";

const now = new Date().toISOString();
const active: IntegrationCredential = {
  id: "i1",
  name: "PagerDuty bridge",
  publicKey: "UD56FJ5O43FDQGZ7CBLZRQ7NQ36WRFCSAJWVHGOHNMOIMEW3KMAIHEVW",
  subjects: "stackyard.6a1e9f0c-8b2d-4c3e-9f4a-0b1c2d3e4f50.>",
  createdBy: null,
  createdAt: now,
  expiresAt: null,
  revokedAt: null,
  status: "active",
};
const revoked: IntegrationCredential = { ...active, id: "i2", name: "old", revokedAt: now, status: "revoked" };
const CREDS = "-----BEGIN NATS USER JWT-----\neyJ0eXAi.x.y\n------END NATS USER JWT------\n";

function show(state: Partial<AsyncState<IntegrationCredential[]>>, canWrite = true) {
  const calls = { created: 0, revoked: [] as string[], retried: 0 };
  renderInRouter(
    <IntegrationsView
      state={{ data: undefined, error: undefined, isLoading: false, onRetry: () => calls.retried++, ...state }}
      canWrite={canWrite}
      onCreate={() => calls.created++}
      onRevoke={(c) => calls.revoked.push(c.name)}
    />,
  );
  return calls;
}

describe("IntegrationsView", () => {
  it("shows loading, an error with a retry, and the empty state", () => {
    show({ isLoading: true });
    expect(screen.getByRole("status").textContent).to.contain("Loading integration credentials");
  });

  it("explains an error and retries on demand", () => {
    const calls = show({ error: new ApiError(403, "FORBIDDEN", "you need integrations:read") });
    expect(screen.getByRole("alert").textContent).to.contain("you need integrations:read");
    fireEvent.click(screen.getByRole("button", { name: "Retry" }));
    expect(calls.retried).to.equal(1);
  });

  it("says when there is none", () => {
    show({ data: [] });
    expect(screen.getByText(/No integration credentials yet/)).to.exist;
  });

  it("lists credentials with their subjects and status; only an active one can be revoked", () => {
    const calls = show({ data: [active, revoked] });
    expect(screen.getAllByText(active.subjects)).to.have.length(2);
    expect(screen.getByText("revoked")).to.exist;
    const buttons = screen.getAllByRole("button", { name: "Revoke" });
    expect(buttons).to.have.length(1);
    fireEvent.click(buttons[0]!);
    expect(calls.revoked).to.deep.equal(["PagerDuty bridge"]);
    fireEvent.click(screen.getByRole("button", { name: "Create credential" }));
    expect(calls.created).to.equal(1);
  });

  it("offers no changes without integrations:write", () => {
    show({ data: [active] }, false);
    expect(screen.queryByRole("button", { name: "Revoke" })).to.equal(null);
  });
});

describe("CreateIntegrationDialog", () => {
  it("sends the name and expiry, and shows the whole error message", () => {
    const submitted: unknown[] = [];
    renderInRouter(
      <CreateIntegrationDialog
        busy={false}
        error={new ApiError(422, "EXPIRY_IN_PAST", "expiresAt must be in the future")}
        created={undefined}
        onSubmit={(input) => submitted.push(input)}
        onClose={() => {}}
      />,
    );
    expect(screen.getByRole("alert").textContent).to.contain("expiresAt must be in the future");
    fireEvent.change(screen.getByLabelText("Name"), { target: { value: " bridge " } });
    fireEvent.click(screen.getByRole("button", { name: "Create credential" }));
    expect(submitted).to.deep.equal([{ name: "bridge", expiresAt: null }]);
  });

  it("offers the .creds once, as a download and as text", () => {
    const created: CreatedIntegrationCredential = {
      credential: active,
      creds: CREDS,
      natsUrls: ["tls://nats.example.com:4222"],
      natsCa: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    };
    renderInRouter(
      <CreateIntegrationDialog
        busy={false}
        error={undefined}
        created={created}
        onSubmit={() => {}}
        onClose={() => {}}
      />,
    );
    const link = screen.getByRole("link", { name: /Download pagerduty-bridge\.creds/ }) as HTMLAnchorElement;
    expect(link.getAttribute("download")).to.equal("pagerduty-bridge.creds");
    expect(screen.getByTestId("secret-NATS credentials").textContent).to.equal(CREDS);
    expect(screen.getByText("tls://nats.example.com:4222")).to.exist;
    expect(credsFileName("!!!")).to.equal("integration.creds");
  });
});

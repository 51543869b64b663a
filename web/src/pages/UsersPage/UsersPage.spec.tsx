import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { expect } from "chai";
import { ApiClient } from "../../api/client.js";
import { apiError, fakeFetch, json, memoryStore, tokenPair, type RecordedRequest } from "../../../test/fake-fetch.js";
import { renderApp } from "../../../test/render.js";

const ORG = "11111111-1111-4111-8111-111111111111";
const admin = { id: "u1", orgId: ORG, email: "boss@acme.test", role: "ORG_ADMIN", createdAt: "", lastLoginAt: null };
const dev = {
  id: "u2",
  orgId: ORG,
  email: "dev@acme.test",
  role: "APP_ADMIN",
  createdAt: "",
  lastLoginAt: null,
  mfaEnabled: true,
};
const me = {
  user: admin,
  org: { id: ORG, name: "acme", createdAt: "" },
  role: "ORG_ADMIN",
  permissions: ["users:read", "users:write", "clusters:read"],
  actorType: "user",
  tokenId: null,
  orgs: [{ id: ORG, name: "acme", role: "ORG_ADMIN", userId: "u1" }],
};

function backend() {
  let users: Array<typeof admin & { mfaEnabled?: boolean }> = [admin, dev];
  let policy = { requiredFor: "none", coveredUsers: 0, coveredUsersWithoutMfa: 0 };
  return (req: RecordedRequest) => {
    if (req.path === "/v1/auth/refresh") return json(200, tokenPair(2));
    if (req.path === "/v1/auth/me") return json(200, me);
    if (req.path === `/v1/orgs/${ORG}/mfa-policy`) {
      if (req.method === "PUT") {
        const requiredFor = (req.body as { requiredFor: string }).requiredFor;
        if (requiredFor === "all") return apiError(409, "MFA_ENROLL_FIRST");
        policy = { requiredFor, coveredUsers: 1, coveredUsersWithoutMfa: 1 };
      }
      return json(200, policy);
    }
    if (req.method === "DELETE" && req.path === `/v1/orgs/${ORG}/users/u2/mfa`) {
      users = users.map((u) => (u.id === "u2" ? { ...u, mfaEnabled: false } : u));
      return json(200, { userId: "u2", mfaEnabled: false, sessionsRevoked: 2 });
    }
    if (req.path === `/v1/orgs/${ORG}/users`) return json(200, { items: users });
    if (req.method === "PATCH" && req.path === `/v1/orgs/${ORG}/users/u1`) {
      return apiError(409, "LAST_ORG_ADMIN");
    }
    if (req.method === "DELETE" && req.path === `/v1/orgs/${ORG}/users/u2`) {
      users = users.filter((u) => u.id !== "u2");
      return json(200, dev);
    }
    return apiError(404, "NOT_FOUND");
  };
}

describe("UsersPage", () => {
  it("sets the org's MFA policy (a refusal shown whole) and resets a user's MFA after the confirmation", async () => {
    const { fetch, calls } = fakeFetch(backend());
    renderApp(new ApiClient({ store: memoryStore("refresh-1"), fetch }), `/orgs/${ORG}/users`);
    const panel = await screen.findByRole("region", { name: "MFA policy" });
    const select = await within(panel).findByLabelText("MFA required for");
    fireEvent.change(select, { target: { value: "all" } });
    expect((await within(panel).findByRole("alert")).textContent).to.contain("MFA_ENROLL_FIRST");
    fireEvent.change(select, { target: { value: "admins" } });
    await within(panel).findByText(/1 must set MFA up at their next login/);
    expect(calls.filter((c) => c.method === "PUT").map((c) => c.body)).to.deep.equal([
      { requiredFor: "all" },
      { requiredFor: "admins" },
    ]);

    const row = (await screen.findByText("dev@acme.test")).closest("tr")!;
    expect(within(row).getByText("on")).to.not.equal(null);
    fireEvent.click(within(row).getByRole("button", { name: "Reset MFA…" }));
    const dialog = await screen.findByRole("dialog", { name: "Reset MFA of dev@acme.test" });
    expect(dialog.textContent).to.contain("sessions end");
    fireEvent.click(within(dialog).getByRole("button", { name: "Reset MFA" }));
    await waitFor(() =>
      expect(within(screen.getByText("dev@acme.test").closest("tr")!).queryByText("off")).to.not.equal(null),
    );
    expect(calls.filter((c) => c.method === "DELETE").map((c) => c.path)).to.deep.equal([
      `/v1/orgs/${ORG}/users/u2/mfa`,
    ]);
  });

  it("shows a refused demotion whole, and removes a user after the confirmation", async () => {
    const { fetch, calls } = fakeFetch(backend());
    renderApp(new ApiClient({ store: memoryStore("refresh-1"), fetch }), `/orgs/${ORG}/users`);
    const role = await screen.findByLabelText("Role of boss@acme.test");
    fireEvent.change(role, { target: { value: "VIEWER" } });
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).to.contain("LAST_ORG_ADMIN message");
    expect(alert.textContent).to.contain("Code: LAST_ORG_ADMIN");
    expect(calls.find((c) => c.method === "PATCH")?.body).to.deep.equal({ role: "VIEWER" });

    const row = screen.getByText("dev@acme.test").closest("tr")!;
    fireEvent.click(within(row).getByRole("button", { name: "Remove…" }));
    const dialog = await screen.findByRole("dialog", { name: "Remove dev@acme.test" });
    expect(dialog.textContent).to.contain("sessions and API tokens stop working");
    fireEvent.click(within(dialog).getByRole("button", { name: "Remove user" }));
    await waitFor(() => expect(screen.queryByText("dev@acme.test")).to.equal(null));
    expect(calls.filter((c) => c.method === "DELETE").map((c) => c.path)).to.deep.equal([`/v1/orgs/${ORG}/users/u2`]);
  });
});

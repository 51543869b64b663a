import { fireEvent, screen, waitFor } from "@testing-library/react";
import { expect } from "chai";
import { ApiClient } from "../../api/client.js";
import { apiError, fakeFetch, json, memoryStore, tokenPair, type RecordedRequest } from "../../../test/fake-fetch.js";
import { renderApp } from "../../../test/render.js";

const ORG = "11111111-1111-4111-8111-111111111111";
const user = { id: "u1", orgId: ORG, email: "ops@acme.test", role: "VIEWER", createdAt: "", lastLoginAt: null };
const me = {
  user,
  org: { id: ORG, name: "acme", createdAt: "" },
  role: "VIEWER",
  permissions: ["clusters:read", "stacks:read"],
  actorType: "user",
  tokenId: null,
  orgs: [{ id: ORG, name: "acme", role: "VIEWER", userId: "u1" }],
};

function backend(req: RecordedRequest) {
  if (req.path === "/v1/auth/refresh") return json(200, tokenPair(2));
  if (req.path === "/v1/auth/me") return json(200, me);
  if (req.path === "/v1/auth/password") {
    const body = req.body as { currentPassword: string };
    return body.currentPassword === "right one"
      ? json(200, { sessionsRevoked: 3 })
      : apiError(403, "CURRENT_PASSWORD_INCORRECT");
  }
  return apiError(404, "NOT_FOUND");
}

function fill(current: string, next: string, repeat = next) {
  fireEvent.change(screen.getByLabelText("Current password"), { target: { value: current } });
  fireEvent.change(screen.getByLabelText("New password"), { target: { value: next } });
  fireEvent.change(screen.getByLabelText("New password again"), { target: { value: repeat } });
}

describe("AccountPage", () => {
  it("shows a refused change whole (message and code), then a successful one with the sessions it ended", async () => {
    const { fetch, calls } = fakeFetch(backend);
    renderApp(new ApiClient({ store: memoryStore("refresh-1"), fetch }), `/orgs/${ORG}/account`);
    await screen.findByRole("form", { name: "Change password" });
    fill("wrong", "a long new passphrase");
    fireEvent.click(screen.getByRole("button", { name: "Change password" }));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).to.contain("CURRENT_PASSWORD_INCORRECT message");
    expect(alert.textContent).to.contain("Code: CURRENT_PASSWORD_INCORRECT");
    expect(alert.textContent).to.not.contain("permission");
    fill("right one", "a long new passphrase");
    fireEvent.click(screen.getByRole("button", { name: "Change password" }));
    expect((await screen.findByRole("status")).textContent).to.contain("3 other session(s) were logged out");
    const posts = calls.filter((c) => c.path === "/v1/auth/password");
    expect(posts.map((c) => c.body)).to.deep.equal([
      { currentPassword: "wrong", newPassword: "a long new passphrase" },
      { currentPassword: "right one", newPassword: "a long new passphrase" },
    ]);
  });

  it("does not send two new passwords that differ", async () => {
    const { fetch, calls } = fakeFetch(backend);
    renderApp(new ApiClient({ store: memoryStore("refresh-1"), fetch }), `/orgs/${ORG}/account`);
    await screen.findByRole("form", { name: "Change password" });
    fill("right one", "a long new passphrase", "a long new passphrasf");
    expect((await screen.findByRole("alert")).textContent).to.contain("differ");
    expect((screen.getByRole("button", { name: "Change password" }) as HTMLButtonElement).disabled).to.equal(true);
    await waitFor(() => expect(calls.some((c) => c.path === "/v1/auth/password")).to.equal(false));
  });
});

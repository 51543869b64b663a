import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { MemoryRouter } from "react-router-dom";
import { App } from "../../app/App.js";
import { expect } from "chai";
import { ApiClient } from "../../api/client.js";
import { apiError, fakeFetch, json, memoryStore, tokenPair, type RecordedRequest } from "../../../test/fake-fetch.js";
import { renderApp } from "../../../test/render.js";

const ORG = "11111111-1111-4111-8111-111111111111";
const user = { id: "u1", orgId: ORG, email: "ops@acme.test", role: "ORG_ADMIN", createdAt: "", lastLoginAt: null };
const me = {
  user,
  org: { id: ORG, name: "acme", createdAt: "" },
  role: "ORG_ADMIN",
  permissions: ["clusters:read", "clusters:write", "tokens:read", "tokens:write", "audit:read", "users:read"],
  actorType: "user",
  tokenId: null,
  orgs: [{ id: ORG, name: "acme", role: "ORG_ADMIN", userId: "u1" }],
};

/** The API as the login flow sees it: one password is right, everything else answers like the real gateway. */
function backend(password: string) {
  return (req: RecordedRequest) => {
    if (req.path === "/v1/auth/login") {
      const body = req.body as { password: string };
      return body.password === password ? json(200, { ...tokenPair(1), user }) : apiError(401, "INVALID_CREDENTIALS");
    }
    if (req.path === "/v1/auth/login/mfa") {
      const body = req.body as { challengeToken: string; code: string };
      if (body.challengeToken !== "smc_challenge") return apiError(401, "MFA_CHALLENGE_INVALID");
      return body.code === "123456" ? json(200, { ...tokenPair(2), user }) : apiError(401, "MFA_INVALID_CODE");
    }
    if (req.path === "/v1/auth/logout") return new Response(null, { status: 204 });
    if (!req.authorization) return apiError(401, "UNAUTHENTICATED");
    if (req.path === "/v1/auth/me") return json(200, me);
    if (req.path === `/v1/orgs/${ORG}/clusters`) return json(200, { items: [] });
    if (req.path === `/v1/orgs/${ORG}/tokens`) return json(200, { items: [] });
    return apiError(404, "NOT_FOUND");
  };
}

function fillAndSubmit(email: string, password: string) {
  fireEvent.change(screen.getByLabelText("Email"), { target: { value: email } });
  fireEvent.change(screen.getByLabelText("Password"), { target: { value: password } });
  fireEvent.click(screen.getByRole("button", { name: "Log in" }));
}

describe("login flow", () => {
  it("asks for the code when MFA is on, shows a wrong code, then logs in; out and in again at once still loads", async () => {
    const password = "right";
    const { fetch, calls } = fakeFetch((req) => {
      if (req.path === "/v1/auth/login" && (req.body as { password: string }).password === password) {
        return apiError(401, "MFA_REQUIRED", {
          challengeToken: "smc_challenge",
          challengeExpiresAt: new Date(Date.now() + 300_000).toISOString(),
        });
      }
      return backend(password)(req);
    });
    // SWR's default 2 s dedupe interval, unlike renderApp: the second round must not hang on the first's request.
    render(
      <MemoryRouter initialEntries={["/login"]}>
        <App
          client={new ApiClient({ store: memoryStore(), fetch })}
          swr={{ provider: () => new Map(), shouldRetryOnError: false }}
        />
      </MemoryRouter>,
    );
    for (let round = 0; round < 2; round++) {
      fillAndSubmit("ops@acme.test", password);
      const step = await screen.findByRole("form", { name: "Two-factor code" });
      fireEvent.change(screen.getByLabelText("Code"), { target: { value: "000000" } });
      fireEvent.click(screen.getByRole("button", { name: "Verify" }));
      expect((await screen.findByRole("alert")).textContent).to.contain("Wrong code");
      expect(step.isConnected).to.equal(true);
      fireEvent.change(screen.getByLabelText("Code"), { target: { value: "123456" } });
      fireEvent.click(screen.getByRole("button", { name: "Verify" }));
      // The second round runs within SWR's dedupe interval of the first: the page must still load.
      await screen.findByRole("heading", { name: "Clusters" });
      fireEvent.click(screen.getByRole("button", { name: "Log out" }));
      await screen.findByRole("form", { name: "Log in" });
    }
    expect(calls.filter((c) => c.path === "/v1/auth/login/mfa").map((c) => c.body)).to.deep.equal([
      { challengeToken: "smc_challenge", code: "000000" },
      { challengeToken: "smc_challenge", code: "123456" },
      { challengeToken: "smc_challenge", code: "000000" },
      { challengeToken: "smc_challenge", code: "123456" },
    ]);
  });

  it("sends a visitor without a session to /login, remembering the page", async () => {
    const { fetch, calls } = fakeFetch(backend("right"));
    const app = renderApp(new ApiClient({ store: memoryStore(), fetch }), `/orgs/${ORG}/tokens`);
    await screen.findByRole("form", { name: "Log in" });
    expect(app.location()).to.equal(`/login?next=${encodeURIComponent(`/orgs/${ORG}/tokens`)}`);
    expect(calls, "no API call before logging in").to.deep.equal([]);
  });

  it("shows the error on a wrong password and stays on the login page", async () => {
    const { fetch, calls } = fakeFetch(backend("right"));
    const app = renderApp(new ApiClient({ store: memoryStore(), fetch }), "/login");
    fillAndSubmit("ops@acme.test", "wrong");
    expect((await screen.findByRole("alert")).textContent).to.contain("Wrong email or password");
    expect(calls.map((c) => c.path)).to.deep.equal(["/v1/auth/login"]);
    expect(calls[0]?.body).to.deep.equal({ email: "ops@acme.test", password: "wrong" });
    expect(app.location()).to.equal("/login");
  });

  it("lets the user choose when the email and password open accounts in several orgs", async () => {
    const OTHER = "22222222-2222-4222-8222-222222222222";
    const orgs = [
      { id: OTHER, name: "beta" },
      { id: ORG, name: "acme" },
    ];
    const { fetch, calls } = fakeFetch((req) => {
      if (req.path === "/v1/auth/login") {
        const body = req.body as { orgId?: string };
        if (!body.orgId) {
          return apiError(409, "ORG_SELECTION_REQUIRED", { orgs });
        }
        return json(200, { ...tokenPair(1), user });
      }
      return backend("right")(req);
    });
    const app = renderApp(new ApiClient({ store: memoryStore(), fetch }), "/login");
    fillAndSubmit("ops@acme.test", "right");
    await screen.findByRole("button", { name: "Log in to beta" });
    expect(screen.getByRole("alert").textContent).to.contain("ORG_SELECTION_REQUIRED message");
    fireEvent.click(screen.getByRole("button", { name: "Log in to acme" }));
    await screen.findByRole("heading", { name: "Clusters" });
    expect(calls.filter((c) => c.path === "/v1/auth/login").map((c) => c.body)).to.deep.equal([
      { email: "ops@acme.test", password: "right" },
      { email: "ops@acme.test", password: "right", orgId: ORG },
    ]);
    expect(app.location()).to.equal(`/orgs/${ORG}/clusters`);
  });

  it("on success goes to the org's clusters page", async () => {
    const store = memoryStore();
    const { fetch } = fakeFetch(backend("right"));
    const app = renderApp(new ApiClient({ store, fetch }), "/login");
    fillAndSubmit("ops@acme.test", "right");
    await screen.findByRole("heading", { name: "Clusters" });
    expect(app.location()).to.equal(`/orgs/${ORG}/clusters`);
    expect(store.load()).to.equal("refresh-1");
    expect(screen.getByText("No clusters yet.")).to.exist;
  });

  it("returns to the remembered page after logging in", async () => {
    const { fetch } = fakeFetch(backend("right"));
    const next = `/orgs/${ORG}/tokens`;
    const app = renderApp(new ApiClient({ store: memoryStore(), fetch }), `/login?next=${encodeURIComponent(next)}`);
    fillAndSubmit("ops@acme.test", "right");
    await screen.findByRole("heading", { name: "API tokens" });
    expect(app.location()).to.equal(next);
  });

  it("ignores a `next` that leaves the app", async () => {
    const { fetch } = fakeFetch(backend("right"));
    const app = renderApp(new ApiClient({ store: memoryStore(), fetch }), "/login?next=//evil.example/x");
    fillAndSubmit("ops@acme.test", "right");
    await waitFor(() => expect(app.location()).to.equal(`/orgs/${ORG}/clusters`));
  });

  it("logs into the org chosen in the switcher", async () => {
    const { fetch, calls } = fakeFetch(backend("right"));
    renderApp(new ApiClient({ store: memoryStore(), fetch }), `/login?org=${ORG}&orgName=acme&email=ops%40acme.test`);
    expect(screen.getByText("Log in to acme")).to.exist;
    fillAndSubmit("ops@acme.test", "right");
    await screen.findByRole("heading", { name: "Clusters" });
    expect(calls[0]?.body).to.deep.equal({ email: "ops@acme.test", password: "right", orgId: ORG });
  });

  it("sends back to /login when the session ends while using the app", async () => {
    const { fetch } = fakeFetch((req) =>
      req.path === "/v1/auth/refresh" ? apiError(401, "SESSION_REVOKED") : apiError(500, "INTERNAL"),
    );
    const app = renderApp(new ApiClient({ store: memoryStore("refresh-1"), fetch }), `/orgs/${ORG}/clusters`);
    await screen.findByText("Your session was ended. Log in again.");
    expect(app.location()).to.equal(
      `/login?next=${encodeURIComponent(`/orgs/${ORG}/clusters`)}&reason=SESSION_REVOKED`,
    );
  });
});

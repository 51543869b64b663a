import { fireEvent, screen, waitFor } from "@testing-library/react";
import { expect } from "chai";
import { ApiClient } from "../../api/client.js";
import { apiError, fakeFetch, json, memoryStore, tokenPair, type RecordedRequest } from "../../../test/fake-fetch.js";
import { renderApp } from "../../../test/render.js";

const ORG = "22222222-2222-4222-8222-222222222222";
const me = {
  user: { id: "u1", orgId: ORG, email: "ops@acme.test", role: "VIEWER", createdAt: "", lastLoginAt: null },
  org: { id: ORG, name: "acme", createdAt: "" },
  role: "VIEWER",
  permissions: ["audit:read"],
  actorType: "user",
  tokenId: null,
  orgs: [{ id: ORG, name: "acme", role: "VIEWER", userId: "u1" }],
};
const event = (n: number) => ({
  id: `e${n}`,
  ts: new Date(Date.UTC(2026, 0, 1, 0, 0, 60 - n)).toISOString(),
  actorType: "user",
  actorId: "u1",
  actorName: "ops@acme.test",
  action: `token.create`,
  targetType: "api_token",
  targetId: `t${n}`,
  targetName: `ci-${n}`,
  ip: "127.0.0.1",
  userAgent: null,
  data: { name: `token-${n}` },
});

function backend(req: RecordedRequest) {
  if (req.path === "/v1/auth/refresh") return json(200, tokenPair(2));
  if (req.path === "/v1/auth/me") return json(200, me);
  if (req.path === `/v1/orgs/${ORG}/audit`) {
    const q = new URLSearchParams(req.search);
    if (q.get("action") !== "token.*") return apiError(400, "UNEXPECTED_FILTER");
    return q.get("cursor") === "page-2"
      ? json(200, { items: [event(3)], nextCursor: null })
      : json(200, { items: [event(1), event(2)], nextCursor: "page-2" });
  }
  return apiError(404, "NOT_FOUND");
}

describe("AuditPage", () => {
  it("reads filters from the URL and pages with the cursor until the end", async () => {
    const { fetch, calls } = fakeFetch(backend);
    renderApp(new ApiClient({ store: memoryStore("refresh-1"), fetch }), `/orgs/${ORG}/audit?action=token.*`);
    await screen.findByText("token-2");
    expect((screen.getByLabelText("Action") as HTMLInputElement).value).to.equal("token.*");
    expect(screen.queryByText("token-3")).to.equal(null);

    fireEvent.click(screen.getByRole("button", { name: "Load more" }));
    await screen.findByText("token-3");
    expect(screen.getByText("End of the log for these filters.")).to.exist;
    const auditCalls = calls.filter((c) => c.path.endsWith("/audit")).map((c) => new URLSearchParams(c.search));
    expect(auditCalls.map((q) => q.get("cursor"))).to.include.members([null, "page-2"]);
    expect(auditCalls.every((q) => q.get("limit") === "50")).to.equal(true);
  });

  it("puts applied filters in the URL", async () => {
    const { fetch } = fakeFetch(backend);
    const app = renderApp(
      new ApiClient({ store: memoryStore("refresh-1"), fetch }),
      `/orgs/${ORG}/audit?action=token.*`,
    );
    await screen.findByText("token-1");
    fireEvent.change(screen.getByLabelText("Actor"), { target: { value: "u1" } });
    fireEvent.click(screen.getByRole("button", { name: "Apply" }));
    await waitFor(() => expect(app.location()).to.equal(`/orgs/${ORG}/audit?actor=u1&action=token.*`));
  });

  it("names actors and targets, and filters by one from its row", async () => {
    const { fetch } = fakeFetch(backend);
    const app = renderApp(
      new ApiClient({ store: memoryStore("refresh-1"), fetch }),
      `/orgs/${ORG}/audit?action=token.*`,
    );
    const target = await screen.findByRole("button", { name: "api_token ci-2" });
    expect(screen.getAllByRole("button", { name: "ops@acme.test" })).to.have.length(2);
    fireEvent.click(target);
    await waitFor(() =>
      expect(app.location()).to.equal(`/orgs/${ORG}/audit?action=token.*&targetType=api_token&targetId=t2`),
    );
    await screen.findByText(/Only entries about/);
    fireEvent.click(screen.getAllByRole("button", { name: "ops@acme.test" })[0]!);
    await waitFor(() => expect(app.location()).to.include("actor=u1"));
    fireEvent.click(screen.getByRole("button", { name: "Show every target" }));
    await waitFor(() => expect(app.location()).not.to.include("targetId"));
  });
});

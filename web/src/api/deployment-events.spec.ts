import { expect } from "chai";
import { apiError, fakeFetch, memoryStore, sseEnd, sseEvent, sseResponse, tokenPair } from "../../test/fake-fetch.js";
import { ApiClient } from "./client.js";
import { followDeploymentEvents, type DeploymentEnd, type StreamState } from "./deployment-events.js";
import type { DeploymentEvent } from "./types.js";

const D = "d-1";

function follow(client: ApiClient, signal = new AbortController().signal) {
  const events: DeploymentEvent[] = [];
  const ends: DeploymentEnd[] = [];
  const states: StreamState[] = [];
  const done = followDeploymentEvents(
    client,
    D,
    { onEvent: (e) => events.push(e), onEnd: (e) => ends.push(e), onState: (s) => states.push(s) },
    { signal, retryDelayMs: () => 1 },
  );
  return { events, ends, states, done };
}

describe("following a deployment's events", () => {
  it("sends the bearer token and no Last-Event-ID on the first connection", async () => {
    const { fetch, calls } = fakeFetch(
      () => sseResponse([sseEvent({ seq: 0, message: "a" }), sseEnd(D, "SUCCEEDED")]).response,
    );
    const f = follow(new ApiClient({ store: memoryStore(), fetch }));
    await f.done;
    expect(calls).to.have.length(1);
    expect(calls[0]?.path).to.equal(`/v1/deployments/${D}/events`);
    expect(calls[0]?.headers.get("accept")).to.equal("text/event-stream");
    expect(calls[0]?.headers.get("last-event-id")).to.equal(null);
    expect(f.ends).to.deep.equal([{ id: D, status: "SUCCEEDED" }]);
  });

  it("resumes a dropped stream after the last seq it saw, and shows no event twice", async () => {
    const { fetch, calls } = fakeFetch((req) => {
      const after = req.headers.get("last-event-id");
      if (after === null) {
        // Drops after seq 1 (no `end`).
        return sseResponse([sseEvent({ seq: 0, message: "zero" }), sseEvent({ seq: 1, message: "one" })]).response;
      }
      if (after === "1") {
        // A server that repeats seq 1 must not make the console show it twice.
        return sseResponse([
          sseEvent({ seq: 1, message: "one again" }),
          sseEvent({ seq: 2, message: "two" }),
          sseEnd(D, "FAILED"),
        ]).response;
      }
      throw new Error(`unexpected Last-Event-ID ${after}`);
    });
    const f = follow(new ApiClient({ store: memoryStore(), fetch }));
    await f.done;
    expect(f.events.map((e) => e.message)).to.deep.equal(["zero", "one", "two"]);
    expect(calls.map((c) => c.headers.get("last-event-id"))).to.deep.equal([null, "1"]);
    expect(f.ends).to.deep.equal([{ id: D, status: "FAILED" }]);
    expect(f.states).to.deep.equal(["connecting", "live", "reconnecting", "live"]);
  });

  it("retries a network failure and a 503, but gives up at once on a 404", async () => {
    let n = 0;
    const { fetch } = fakeFetch(() => {
      n++;
      if (n === 1) throw new TypeError("fetch failed");
      if (n === 2) return apiError(503, "AGENT_UNAVAILABLE");
      return sseResponse([sseEnd(D, "CANCELED")]).response;
    });
    const f = follow(new ApiClient({ store: memoryStore(), fetch }));
    await f.done;
    expect(n).to.equal(3);
    expect(f.ends).to.deep.equal([{ id: D, status: "CANCELED" }]);

    const missing = fakeFetch(() => apiError(404, "DEPLOYMENT_NOT_FOUND"));
    const g = follow(new ApiClient({ store: memoryStore(), fetch: missing.fetch }));
    const err = await g.done.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.have.property("code", "DEPLOYMENT_NOT_FOUND");
    expect(missing.calls).to.have.length(1);
  });

  it("refreshes an expired access token before streaming, like any request", async () => {
    const store = memoryStore("refresh-0");
    const { fetch, calls } = fakeFetch((req) => {
      if (req.path === "/v1/auth/refresh") return new Response(JSON.stringify(tokenPair(1)), { status: 200 });
      expect(req.authorization).to.equal("Bearer access-1");
      return sseResponse([sseEnd(D, "SUCCEEDED")]).response;
    });
    const f = follow(new ApiClient({ store, fetch }));
    await f.done;
    expect(calls.map((c) => c.path)).to.deep.equal(["/v1/auth/refresh", `/v1/deployments/${D}/events`]);
  });

  it("hangs up when the caller aborts, without reconnecting", async () => {
    const held = sseResponse([sseEvent({ seq: 0, message: "waiting" })], { holdOpen: true });
    const { fetch, calls } = fakeFetch(() => held.response);
    const controller = new AbortController();
    const f = follow(new ApiClient({ store: memoryStore(), fetch }), controller.signal);
    while (f.events.length === 0) await new Promise((r) => setTimeout(r, 2));
    controller.abort();
    await f.done;
    expect(calls).to.have.length(1);
    expect(f.ends).to.deep.equal([]);
  });
});

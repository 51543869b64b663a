/** The status derivation of silent clusters: views.ts effectiveStatus, leaf-status.ts, leaf-links.ts. */
import { expect } from "chai";
import { effectiveStatus } from "./views.js";
import { silentLeafStatus, type SilentLeafCluster } from "./leaf-status.js";
import { LEAF_LINK_IDLE_LIMIT_MS, workingLeafLinks, type ConnzAnswer } from "./leaf-links.js";

const AGENT = "UAGENTKEYOFTHECLUSTER";
const OTHER = "UANOTHERAGENT";

describe("cluster status of silent agents", () => {
  describe("effectiveStatus", () => {
    const now = Date.parse("2026-12-03T12:00:00Z");
    const seen = (secondsAgo: number) => new Date(now - secondsAgo * 1000);

    it("is the stored status while heartbeats are fresh, offline once they are older than the threshold", () => {
      expect(effectiveStatus({ status: "online", last_seen_at: seen(10) }, 35, now)).to.equal("online");
      expect(effectiveStatus({ status: "degraded", last_seen_at: seen(10) }, 35, now)).to.equal("degraded");
      expect(effectiveStatus({ status: "online", last_seen_at: seen(36) }, 35, now)).to.equal("offline");
      expect(effectiveStatus({ status: "online", last_seen_at: null }, 35, now)).to.equal("offline");
    });

    it("keeps link_down, the sweep's decision from the hub's view of the link, whatever the heartbeat's age", () => {
      expect(effectiveStatus({ status: "link_down", last_seen_at: seen(3600) }, 35, now)).to.equal("link_down");
    });

    it("keeps pending and revoked", () => {
      expect(effectiveStatus({ status: "pending", last_seen_at: null }, 35, now)).to.equal("pending");
      expect(effectiveStatus({ status: "revoked", last_seen_at: seen(1) }, 35, now)).to.equal("revoked");
    });
  });

  describe("silentLeafStatus", () => {
    const cluster = (status: SilentLeafCluster["status"]): SilentLeafCluster => ({ id: "c", agent_id: AGENT, status });

    it("is offline when the hub holds a working link from the cluster's leaf (the agent itself is down)", () => {
      for (const s of ["online", "degraded", "offline", "link_down"] as const)
        expect(silentLeafStatus(cluster(s), new Set([AGENT]))).to.equal("offline");
    });

    it("is link_down when the hub holds no working link from it (another cluster's link does not count)", () => {
      for (const s of ["online", "degraded", "offline", "link_down"] as const)
        expect(silentLeafStatus(cluster(s), new Set([OTHER]))).to.equal("link_down");
    });

    it("when the hub cannot be asked: online turns offline, offline and link_down stay as they are", () => {
      expect(silentLeafStatus(cluster("online"), null)).to.equal("offline");
      expect(silentLeafStatus(cluster("degraded"), null)).to.equal("offline");
      expect(silentLeafStatus(cluster("offline"), null)).to.equal("offline");
      expect(silentLeafStatus(cluster("link_down"), null)).to.equal("link_down");
    });
  });

  describe("workingLeafLinks", () => {
    const now = "2026-12-03T12:00:30.000Z";
    const ago = (ms: number) => new Date(Date.parse(now) - ms).toISOString();
    const answer = (connections: NonNullable<ConnzAnswer["data"]>["connections"]): ConnzAnswer => ({
      data: { now, total: connections?.length ?? 0, offset: 0, connections },
    });

    it("counts leafnode connections that carried traffic within the idle limit, on the server's clock", () => {
      const links = workingLeafLinks([
        answer([
          { kind: "Leafnode", authorized_user: AGENT, last_activity: ago(1_000) },
          { kind: "Leafnode", authorized_user: OTHER, last_activity: ago(LEAF_LINK_IDLE_LIMIT_MS + 1) },
        ]),
      ]);
      expect([...links]).to.deep.equal([AGENT]);
    });

    it("does not count a direct client connection of the same key, nor a connection without a user", () => {
      const links = workingLeafLinks([
        answer([
          { kind: "Client", authorized_user: AGENT, last_activity: ago(0) },
          { kind: "Leafnode", last_activity: ago(0) },
        ]),
      ]);
      expect(links.size).to.equal(0);
    });

    it("merges the answers of every server of the hub (the leaf may be on any of them)", () => {
      const links = workingLeafLinks([
        answer([]),
        answer([{ kind: "Leafnode", authorized_user: AGENT, last_activity: ago(500) }]),
      ]);
      expect(links.has(AGENT)).to.equal(true);
    });
  });
});

/**
 * Pinned images through the real gateway, Postgres, NATS and JetStream (the agent is a scripted stand-in; the real
 * one on a real Swarm is test/e2e/pinned-images.e2e.spec.ts): the environment's image resolution reaches the
 * command, a success's pins are stored on the deployment (malformed ones dropped), and the next deployment of the
 * same release is sent with them.
 */
import { expect } from "chai";
import { parse } from "yaml";
import type { Db } from "../_shared/db.js";
import { startFakeAgent, type FakeAgent } from "../_shared/testing/fake-agent.js";
import { createOrgWithAdmin, uniqueName, type TestOrg } from "../_shared/testing/fixtures.js";
import type { ContractClient } from "../_shared/testing/http.js";
import type { TestNatsServer } from "../_shared/testing/nats-server.js";
import type { TestPlatform } from "../_shared/testing/platform.js";
import { startTestStack, stopTestStack } from "../_shared/testing/stack.js";
import { until } from "../_shared/testing/wait.js";
import type { DeployStack } from "../../nats/protocol/messages.js";

interface Deployment {
  id: string;
  status: string;
  images: Array<{ service: string; image: string; pinned: string; kind: string }> | null;
}
const ID = `sha256:${"a".repeat(64)}`;

describe("pinned images (real gateway, Postgres, NATS; scripted agent)", function () {
  this.timeout(60_000);
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let api: ContractClient;
  let org: TestOrg;
  let agent: FakeAgent;
  const sent: DeployStack[] = [];

  before(async () => {
    ({ db, nats, platform, api } = await startTestStack());
    org = await createOrgWithAdmin(api);
    agent = await startFakeAgent(api, nats.url, { orgId: org.orgId, auth: org.admin.auth }, "pins");
    agent.handlers.set("DeployStack", (command) => {
      const p = command.payload as unknown as DeployStack;
      sent.push(p);
      const images = [
        { service: "web", image: "shop/web:latest", pinned: ID, kind: "image-id" },
        { service: "db", image: "db:1", pinned: "not-a-pin", kind: "digest" },
      ];
      setTimeout(
        () => void agent.emit(p.deploymentId, p.firstSeq, "converged", { outcome: "succeeded", data: { images } }),
        50,
      );
      return { deploymentId: p.deploymentId, status: "started" };
    });
  });
  after(async () => {
    await agent?.close();
    await stopTestStack({ db, nats, platform });
  });

  it("stores a success's pins and deploys them with the next deployment of the release", async () => {
    const auth = org.admin.auth;
    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: uniqueName("pins").replace(/[^a-z0-9-]/g, "") },
      headers: auth,
    });
    const env = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/environments`, {
      body: { name: "prod", clusterId: agent.clusterId, imageResolution: "changed" },
      headers: auth,
    });
    expect(env.status, JSON.stringify(env.body)).to.equal(201);
    const release = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/releases`, {
      body: {
        sourceType: "upload",
        composeYaml: "services:\n  web:\n    image: shop/web:latest\n  db:\n    image: db:1\n",
      },
      headers: auth,
    });
    const deployOnce = async () => {
      const res = await api.request<Deployment>("POST", `/v1/environments/${env.body.id}/deployments`, {
        body: { releaseId: release.body.id },
        headers: { ...auth, "idempotency-key": uniqueName("k") },
      });
      expect(res.status, JSON.stringify(res.body)).to.equal(202);
      return until(`deployment ${res.body.id} to succeed`, async () => {
        const d = (await api.get<Deployment>(`/v1/deployments/${res.body.id}`, auth)).body;
        return d.status === "SUCCEEDED" ? d : undefined;
      });
    };
    const imagesOf = (p: DeployStack) =>
      Object.fromEntries(
        Object.entries((parse(p.composeYaml) as { services: Record<string, { image: string }> }).services).map(
          ([k, v]) => [k, v.image],
        ),
      );

    const first = await deployOnce();
    expect(sent[0]?.resolveImage).to.equal("changed");
    expect(imagesOf(sent[0]!)).to.deep.equal({ web: "shop/web:latest", db: "db:1" });
    expect(first.images, "the malformed pin is dropped").to.deep.equal([
      { service: "web", image: "shop/web:latest", pinned: ID, kind: "image-id" },
    ]);

    const second = await deployOnce();
    expect(imagesOf(sent[1]!)).to.deep.equal({ web: ID, db: "db:1" });
    const [dispatching] = await db("deployment_events")
      .where({ deployment_id: second.id })
      .whereLike("message", "dispatching%")
      .select("message", "data_json");
    expect(dispatching.message).to.contain(`with the exact images of deployment ${first.id} (web=${ID})`);
    expect(dispatching.data_json).to.deep.include({ pinnedFrom: first.id, resolveImage: "changed" });
  });
});

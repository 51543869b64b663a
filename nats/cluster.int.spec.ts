/**
 * Our template as a real 3-node cluster: routes over TLS verified with the installation's CA, JetStream with a meta
 * leader, the deployment streams at three replicas, and a node lost without losing an acknowledged message.
 */
import { expect } from "chai";
import { connect, credsAuthenticator, type NatsConnection } from "nats";
import { readFile } from "node:fs/promises";
import { ensureDeploymentStreams } from "../services/deployments/jetstream.js";
import { startTestNatsCluster, type TestNatsCluster } from "../services/_shared/testing/nats-cluster.js";
import { AGENT_EVENTS_STREAM } from "./protocol/subjects.js";

describe("a 3-node NATS cluster from nats/server.conf.template", function () {
  this.timeout(120_000);
  let cluster: TestNatsCluster;
  let nc: NatsConnection | undefined;

  before(async () => {
    cluster = await startTestNatsCluster(3);
  });
  after(async () => {
    await nc?.close();
    await cluster?.stop();
  });

  it("forms one cluster with a JetStream meta leader; R3 streams survive the loss of their leader", async () => {
    await cluster.waitForMetaLeader(60_000);
    for (const node of cluster.nodes) {
      const routez = (await (await fetch(`${node.monitorUrl}/routez`)).json()) as { num_routes: number };
      expect(routez.num_routes, node.name).to.be.at.least(2);
    }
    nc = await connect({
      servers: cluster.natsUrl.split(","),
      authenticator: credsAuthenticator(await readFile(cluster.controlPlaneCredsFile)),
      tls: { caFile: cluster.caFile },
      maxReconnectAttempts: -1,
    });
    const jsm = await nc.jetstreamManager();
    await ensureDeploymentStreams(jsm, 3);
    const info = await jsm.streams.info(AGENT_EVENTS_STREAM.name);
    expect(info.config.num_replicas).to.equal(3);
    const js = nc.jetstream();
    await js.publish("agent-events.c1.d1", new TextEncoder().encode("before"), { msgID: "d1-1" });
    const leader = info.cluster?.leader;
    const victim = cluster.nodes.find((n) => n.name === leader);
    expect(victim, `stream leader ${leader}`).to.not.equal(undefined);
    await victim!.kill();
    let acked = false;
    for (let attempt = 0; attempt < 60 && !acked; attempt++) {
      try {
        await js.publish("agent-events.c1.d1", new TextEncoder().encode("after"), { msgID: "d1-2", timeout: 2_000 });
        acked = true;
      } catch {
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    expect(acked, "a publish is acknowledged by the new leader").to.equal(true);
    const after = await jsm.streams.info(AGENT_EVENTS_STREAM.name);
    expect(after.state.messages).to.equal(2);
    expect(after.cluster?.leader).to.not.equal(leader);
    await victim!.start();
  });
});

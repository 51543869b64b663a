import { expect } from "chai";
import { connect, credsAuthenticator, DiscardPolicy, RetentionPolicy, StorageType, type NatsConnection } from "nats";
import { readFile } from "node:fs/promises";
import { AGENT_EVENTS_STREAM } from "../../nats/protocol/subjects.js";
import { MAX_EVENT_BATCH_BYTES } from "../../nats/protocol/messages.js";
import { startTestNatsServer, type TestNatsServer } from "../_shared/testing/nats-server.js";
import {
  AGENT_EVENTS_MAX_BYTES,
  AGENT_EVENTS_MAX_MSGS_PER_DEPLOYMENT,
  DEPLOY_JOBS_MAX_BYTES,
  DEPLOY_JOBS_STREAM,
  ensureDeploymentStreams,
} from "./jetstream.js";

describe("deployment streams are bounded (real nats-server)", function () {
  this.timeout(30_000);
  let server: TestNatsServer;
  let nc: NatsConnection;

  before(async () => {
    server = await startTestNatsServer();
    nc = await connect({
      servers: server.url,
      tls: server.tls,
      authenticator: credsAuthenticator(await readFile(server.controlPlaneCredsFile)),
    });
  });
  after(async () => {
    await nc?.close();
    await server?.stop();
  });

  it("caps the store per stream and per deployment, also on a stream created before the limits", async () => {
    const jsm = await nc.jetstreamManager();
    // The streams as earlier versions created them: no byte or per-subject limit.
    await jsm.streams.add({
      name: AGENT_EVENTS_STREAM.name,
      subjects: [...AGENT_EVENTS_STREAM.subjects],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
    });
    await ensureDeploymentStreams(jsm);
    await ensureDeploymentStreams(jsm);
    const events = (await jsm.streams.info(AGENT_EVENTS_STREAM.name)).config;
    expect(events.max_bytes).to.equal(AGENT_EVENTS_MAX_BYTES);
    expect(events.max_msgs_per_subject).to.equal(AGENT_EVENTS_MAX_MSGS_PER_DEPLOYMENT);
    expect(events.discard).to.equal(DiscardPolicy.Old);
    const jobs = (await jsm.streams.info(DEPLOY_JOBS_STREAM.name)).config;
    expect(jobs.max_bytes).to.equal(DEPLOY_JOBS_MAX_BYTES);
    expect(jobs.discard).to.equal(DiscardPolicy.New);
    // Every limit is finite: nothing left at -1 (unlimited) on what agents can write into.
    for (const limit of [events.max_bytes, events.max_msgs_per_subject, events.max_msg_size, events.max_age]) {
      expect(limit).to.be.greaterThan(0);
    }
    // The largest batch an agent sends (agent/src/events.ts), framing included, fits in one message.
    expect(MAX_EVENT_BATCH_BYTES + 1024).to.be.below(events.max_msg_size);
  });

  it("is safe when the deployments API and the workers create the streams at the same moment", async () => {
    // Both services start in one broker, each with its own connection, and call this concurrently; nats-server
    // handles their requests in parallel, so the slower create meets the stream the faster one just made.
    const creds = await readFile(server.controlPlaneCredsFile);
    const connections = await Promise.all(
      Array.from({ length: 4 }, () =>
        connect({ servers: server.url, tls: server.tls, authenticator: credsAuthenticator(creds) }),
      ),
    );
    try {
      const managers = await Promise.all(connections.map((c) => c.jetstreamManager()));
      for (let round = 0; round < 10; round++) {
        for (const name of [AGENT_EVENTS_STREAM.name, DEPLOY_JOBS_STREAM.name]) {
          await managers[0]!.streams.delete(name).catch(() => undefined);
        }
        const outcomes = await Promise.allSettled(managers.map((jsm) => ensureDeploymentStreams(jsm)));
        const errors = outcomes.flatMap((o) => (o.status === "rejected" ? [String(o.reason)] : []));
        expect(errors, `round ${round}`).to.deep.equal([]);
      }
      const events = await managers[0]!.streams.info(AGENT_EVENTS_STREAM.name);
      expect(events.config.max_bytes).to.equal(AGENT_EVENTS_MAX_BYTES);
    } finally {
      await Promise.all(connections.map((c) => c.close()));
    }
  });
});

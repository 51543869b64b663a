import { expect } from "chai";
import { ProtocolError } from "./errors.js";
import {
  AGENT_EVENTS_STREAM,
  CONTROL_PLANE_SUBSCRIPTIONS,
  agentInboxPrefix,
  agentPermissions,
  agentSubjects,
  agentUserJwtOptions,
  commandSubject,
  commandRequestOptions,
  commandWildcard,
  deploymentEventsWildcard,
  execInputSubject,
  parseAgentSubject,
} from "./subjects.js";

/** NATS subject matching, to check the layout against the permissions without a server. */
function matches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return s.length > i;
    if (i >= s.length || (p[i] !== "*" && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

describe("agent subjects", () => {
  const id = "0b0f7c8e-3d7a-4a59-9a53-5f1a2c3d4e5f";
  const s = agentSubjects(id);

  it("puts every agent publication under its cluster's roots and inside its permissions", () => {
    const published = [
      s.heartbeat,
      s.inventory,
      s.dockerEvents,
      s.rejected,
      s.renew,
      s.deploymentEvents("d1"),
      s.reply("c1"),
      s.logs("f1"),
      s.execOutput("x1"),
    ];
    const { publish } = agentPermissions(id);
    for (const subject of published) {
      expect(subject.startsWith(`agent.${id}.`) || subject.startsWith(`agent-events.${id}.`), subject).to.equal(true);
      expect(
        publish.some((p) => matches(p, subject)),
        subject,
      ).to.equal(true);
      expect(agentPermissions("other").publish.some((p) => matches(p, subject))).to.equal(false);
    }
  });

  it("lets the agent subscribe to its commands, its exec sessions' input and its own inbox only", () => {
    const { subscribe } = agentPermissions(id);
    expect(subscribe).to.deep.equal([
      `cmd.${id}.>`,
      `exec-in.${id}.>`,
      `_INBOX_${id}.>`,
      `$JS.leaf-${id}.API.CONSUMER.CREATE.STACKYARD_LEAF_EVENTS`,
      "$JS.FC.STACKYARD_LEAF_EVENTS.>",
    ]);
    expect(subscribe.some((p) => matches(p, commandSubject(id, "DeployStack")))).to.equal(true);
    expect(subscribe.some((p) => matches(p, `${agentInboxPrefix(id)}.abc.1`))).to.equal(true);
    expect(subscribe.some((p) => matches(p, commandSubject("other", "DeployStack")))).to.equal(false);
    expect(subscribe.some((p) => matches(p, "_INBOX.abc"))).to.equal(false);
    expect(subscribe.some((p) => matches(p, execInputSubject(id, "x1")))).to.equal(true);
    expect(subscribe.some((p) => matches(p, execInputSubject("other", "x1")))).to.equal(false);
    // Keystrokes never reach the signed-command dispatcher, and the agent cannot feed another session's input.
    expect(matches(commandWildcard(id), execInputSubject(id, "x1"))).to.equal(false);
    expect(agentPermissions(id).publish.some((p) => matches(p, execInputSubject(id, "x1")))).to.equal(false);
    // JetStream only as far as the hub's sourcing of this cluster's leaf needs it: no API of the hub's own domain.
    expect(subscribe.some((p) => matches(p, "$JS.API.STREAM.INFO.STACKYARD_AGENT_EVENTS"))).to.equal(false);
    expect(subscribe.some((p) => matches(p, "$JS.leaf-other.API.CONSUMER.CREATE.STACKYARD_LEAF_EVENTS"))).to.equal(
      false,
    );
    expect(subscribe.some((p) => matches(p, `$JS.leaf-${id}.API.STREAM.DELETE.STACKYARD_LEAF_EVENTS`))).to.equal(false);
  });

  it("lets the agent publish the hub's source deliveries of its own cluster only, never into the JetStream API", () => {
    const { publish } = agentPermissions(id);
    expect(publish.some((p) => matches(p, `agent-src.${id}.S.abc`))).to.equal(true);
    expect(publish.some((p) => matches(p, "agent-src.other.S.abc"))).to.equal(false);
    expect(publish.some((p) => matches(p, "$JSC.R.abc"))).to.equal(true);
    expect(publish.some((p) => matches(p, "$JS.API.STREAM.DELETE.STACKYARD_AGENT_EVENTS"))).to.equal(false);
    expect(publish.some((p) => matches(p, "$JS.ACK.STACKYARD_DEPLOY_JOBS.deploy-workers.1.1.1.1.1"))).to.equal(false);
  });

  it("captures deployment events in the stream and nothing else an agent sends", () => {
    const [streamSubject] = AGENT_EVENTS_STREAM.subjects;
    expect(matches(streamSubject, s.deploymentEvents("d1"))).to.equal(true);
    for (const other of [s.heartbeat, s.inventory, s.renew, s.reply("c1")])
      expect(matches(streamSubject, other)).to.equal(false);
    // A hub forwards the stream's interest to a leaf only when it covers the leaf's whole events permission.
    expect(streamSubject.endsWith(".>")).to.equal(true);
    expect(deploymentEventsWildcard(id).startsWith(streamSubject.slice(0, -1))).to.equal(true);
  });

  it("gives the control plane one wildcard per kind", () => {
    expect(matches(CONTROL_PLANE_SUBSCRIPTIONS.heartbeats, s.heartbeat)).to.equal(true);
    expect(matches(CONTROL_PLANE_SUBSCRIPTIONS.inventory, s.inventory)).to.equal(true);
    expect(matches(CONTROL_PLANE_SUBSCRIPTIONS.renew, s.renew)).to.equal(true);
    expect(matches(commandWildcard(id), commandSubject(id, "GetLogs"))).to.equal(true);
  });

  it("sends commands with a reply subject the agent may publish to", () => {
    const opts = commandRequestOptions(id, "c1", 5_000);
    expect(opts).to.deep.equal({ noMux: true, reply: `agent.${id}.reply.c1`, timeout: 5_000 });
    expect(matches(agentPermissions(id).publish[0]!, opts.reply)).to.equal(true);
  });

  it("parses subjects back into cluster, kind and id", () => {
    expect(parseAgentSubject(s.heartbeat)).to.deep.equal({ clusterId: id, kind: "heartbeat", id: null });
    expect(parseAgentSubject(s.deploymentEvents("d1"))).to.deep.equal({ clusterId: id, kind: "events", id: "d1" });
    expect(parseAgentSubject(s.reply("c1"))).to.deep.equal({ clusterId: id, kind: "reply", id: "c1" });
    // Log follows' lines are read by the gateway on their exact subject, inside the agent's own publish space.
    expect(s.logs("f1")).to.equal(`agent.${id}.logs.f1`);
    expect(matches(agentPermissions(id).publish[0]!, s.logs("f1"))).to.equal(true);
    expect(() => s.logs("f.1")).to.throw(ProtocolError, /followId/);
    for (const bad of [
      "agent",
      "agent.x",
      `agent.${id}.unknown`,
      `agent.${id}.events.d1`,
      `agent-events.${id}`,
      `agent-events.${id}.d1.x`,
      `cmd.${id}.GetLogs`,
      `agent.${id}.heartbeat.x`,
    ]) {
      expect(parseAgentSubject(bad), bad).to.equal(null);
    }
  });

  it("refuses ids that would change the subject's shape", () => {
    for (const bad of ["a.b", "*", ">", "", "a b", "x".repeat(65)]) {
      expect(() => agentSubjects(bad), bad).to.throw(ProtocolError, /clusterId/);
    }
    expect(() => s.deploymentEvents("d.1")).to.throw(ProtocolError, /deploymentId/);
  });

  it("describes the agent JWT: both connection types, no response permission, no JetStream API", () => {
    const opts = agentUserJwtOptions(id);
    expect(opts.name).to.equal(`agent-${id}`);
    expect(opts.allowedConnectionTypes).to.deep.equal(["STANDARD", "LEAFNODE"]);
    expect(opts.allowResponses).to.equal(false);
    expect(opts.permissions).to.deep.equal(agentPermissions(id));
  });
});

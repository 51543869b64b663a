import { expect } from "chai";
import { EXAMPLE_MESSAGES } from "../../nats/protocol/examples.js";
import { encodeMessage, MAX_DOCKER_EVENT_BYTES } from "../../nats/protocol/messages.js";
import { groupActivity } from "./activity-handoff.js";
import type { ClusterActivityRow } from "./activity.js";
import { AgentMessageDroppedError, decodeAgentMessage } from "./agent-messages.js";

const enc = new TextEncoder();
const example = EXAMPLE_MESSAGES.DockerEvent;

function dropped(fn: () => unknown): AgentMessageDroppedError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AgentMessageDroppedError) return err;
    throw err;
  }
  throw new Error("not dropped");
}

describe("decoding agents' messages", () => {
  it("accepts a valid message of the subject's cluster", () => {
    const data = encodeMessage("DockerEvent", example);
    expect(decodeAgentMessage("DockerEvent", example.clusterId, data, MAX_DOCKER_EVENT_BYTES)).to.deep.equal(example);
  });

  it("refuses an oversized message before parsing it", () => {
    const data = enc.encode(`{${" ".repeat(MAX_DOCKER_EVENT_BYTES)}}`);
    const err = dropped(() => decodeAgentMessage("DockerEvent", example.clusterId, data, MAX_DOCKER_EVENT_BYTES));
    expect(err.code).to.equal("MESSAGE_TOO_LARGE");
    expect(err.bytes).to.equal(data.byteLength);
  });

  it("refuses bad JSON and schema violations, naming paths but never values", () => {
    const secret = "hunter2-in-payload";
    const bad = dropped(() => decodeAgentMessage("DockerEvent", example.clusterId, enc.encode(`{${secret}`), 4096));
    expect(bad.code).to.equal("MALFORMED_MESSAGE");
    expect(bad.message).to.not.contain(secret);
    const wrong = enc.encode(JSON.stringify({ ...example, type: "secret", name: secret, extra: secret }));
    const schema = dropped(() => decodeAgentMessage("DockerEvent", example.clusterId, wrong, 4096));
    expect(schema.code).to.equal("MALFORMED_MESSAGE");
    expect(schema.message)
      .to.match(/\/type/)
      .and.not.contain(secret);
  });

  it("refuses a message naming another cluster than its subject", () => {
    const data = encodeMessage("DockerEvent", example);
    const err = dropped(() => decodeAgentMessage("DockerEvent", "11111111-2222-4333-8444-555555555555", data, 4096));
    expect(err.code).to.equal("WRONG_CLUSTER");
  });
});

describe("handing activity on", () => {
  it("groups persisted rows and warnings per cluster, with their org", () => {
    const row = (id: string, cluster: string): ClusterActivityRow => ({
      id,
      org_id: `org-${cluster}`,
      cluster_id: cluster,
      ts: new Date(0),
      received_at: new Date(0),
      type: "service",
      action: "update",
      object_id: `o${id}`,
      name: null,
    });
    const grouped = groupActivity([row("1", "a"), row("2", "b"), row("3", "a")], []);
    expect(grouped.map((g) => [g.orgId, g.clusterId, g.activity.map((a) => a.id)])).to.deep.equal([
      ["org-a", "a", ["1", "3"]],
      ["org-b", "b", ["2"]],
    ]);
  });
});

import { expect } from "chai";
import { renderLeafConfig } from "./leaf.js";

describe("the leaf node's configuration", () => {
  const input = {
    clusterId: "c1",
    port: 14223,
    hubUrl: "tls://hub.example.com:17422",
    credsFile: "/state/agent.creds",
    caFile: "/state/leaf/hub-ca.pem",
    pidFile: "/state/leaf/nats-server.pid",
    storeDir: "/state/leaf/jetstream",
  };

  it("listens on loopback only and dials the hub over TLS with the agent's creds and the pinned CA", () => {
    const config = renderLeafConfig(input);
    expect(config).to.match(/^host: 127\.0\.0\.1$/m);
    expect(config).to.match(/^port: 14223$/m);
    expect(config).to.not.match(/^http:/m);
    expect(config).to.include('url: "tls://hub.example.com:17422"');
    expect(config).to.include('credentials: "/state/agent.creds"');
    expect(config).to.include('tls: { ca_file: "/state/leaf/hub-ca.pem" }');
  });

  it("keeps JetStream in the cluster's own domain and deployment events off the direct path", () => {
    const config = renderLeafConfig(input);
    expect(config).to.include('domain: "leaf-c1"');
    expect(config).to.include('deny_exports: ["agent-local.>"]');
  });

  it("refuses a value that would break out of its quotes", () => {
    expect(() => renderLeafConfig({ ...input, hubUrl: 'tls://h:1"\n}' })).to.throw(/unsupported character/);
    expect(() => renderLeafConfig({ ...input, clusterId: "a.b" })).to.throw();
  });
});

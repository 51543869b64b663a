/**
 * docker-compose.ha.yml, read the way Docker does (merge keys, interpolation, the compose-spec schema): the
 * production topology it promises — three routed NATS nodes, every control-plane process listing all three with
 * streams at three replicas, two gateways, two service processes and two workers.
 */
import { expect } from "chai";
import { join } from "node:path";
import { composeSchemaErrors, loadCompose, ROOT, serviceEnv } from "../compose/compose.js";

const HA_FILE = join(ROOT, "docker-compose.ha.yml");

describe("docker-compose.ha.yml (the control plane in HA)", () => {
  const compose = loadCompose({}, HA_FILE);
  const services = compose.services;
  const controlPlane = ["services", "deploy-worker", "gateway-1", "gateway-2"];

  it("is a valid compose file", () => {
    expect(composeSchemaErrors(compose)).to.deep.equal([]);
  });

  it("runs three NATS nodes, each on its own config and JetStream volume", () => {
    const nodes = ["nats-1", "nats-2", "nats-3"];
    for (const name of nodes) {
      const node = services[name];
      expect(node, name).to.not.equal(undefined);
      expect(node?.command).to.deep.equal(["nats-server", "-c", `/var/lib/stackyard/nats/${name}/server.conf`]);
      expect(JSON.stringify(node?.volumes)).to.include(
        `jetstream-${name.slice(-1)}:/var/lib/stackyard/nats/${name}/jetstream`,
      );
    }
    const script = JSON.stringify(services["nats-config"]?.command);
    expect(script).to.include("scripts/nats.ts prepare").and.include("STACKYARD_NATS_ROUTES");
    expect(serviceEnv(services["nats-config"]!)).to.include({ STACKYARD_NATS_CLUSTER_NAME: "stackyard" });
  });

  it("points every control-plane process at all three servers, with streams at three replicas", () => {
    for (const name of controlPlane) {
      const env = serviceEnv(services[name]!);
      expect(env.NATS_URL?.split(","), name).to.deep.equal([
        "tls://nats-1:14222",
        "tls://nats-2:14222",
        "tls://nats-3:14222",
      ]);
      expect(env.NATS_STREAM_REPLICAS, name).to.equal("3");
      for (const node of ["nats-1", "nats-2", "nats-3"]) {
        expect(services[name]?.depends_on, name).to.have.property(node);
      }
    }
  });

  it("runs two gateways, two service processes and two workers", () => {
    expect(serviceEnv(services["gateway-1"]!).SERVICES).to.equal("api");
    expect(serviceEnv(services["gateway-2"]!).SERVICES).to.equal("api");
    const svc = services.services as unknown as { deploy?: { replicas?: number } };
    const worker = services["deploy-worker"] as unknown as { deploy?: { replicas?: number } };
    expect(svc.deploy?.replicas).to.equal(2);
    expect(worker.deploy?.replicas).to.equal(2);
    expect(serviceEnv(services.services!).SERVICES).to.equal("auth,audit,clusters,stacks,deployments");
    expect(serviceEnv(services["deploy-worker"]!).SERVICES).to.equal("deploy-worker");
  });
});

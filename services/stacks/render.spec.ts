import { expect } from "chai";
import { createHash } from "node:crypto";
import { parse } from "yaml";
import { AppError } from "../_shared/errors.js";
import { renderDesiredState, type RenderInput, type RenderSecret } from "./render.js";

const ORG = "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6";
const ENV = "5b0a4c1e-6f7d-4a8b-9c0d-1e2f3a4b5c6d";
const RELEASE = "7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b";
const LABELS = { "io.stackyard.environment": ENV, "io.stackyard.org": ORG, "io.stackyard.release": RELEASE };

const secret = (name: string, version: number, services: string[], id = `id-${name}`): RenderSecret => ({
  id,
  name,
  version,
  contentDigest: createHash("sha256").update(`${name}:${version}`).digest("hex"),
  services,
});

/** The naming rule written out again, independently of render.ts. */
const swarmName = (s: RenderSecret, environmentId = ENV, swarmStack = "shop-prod") =>
  `${swarmStack}_${s.name}_${createHash("sha256")
    .update(`${environmentId}\0${s.id}\0${s.version}\0${s.contentDigest}`)
    .digest("hex")
    .slice(0, 12)}`;

const releaseCompose = `
services:
  web:
    image: nginx:1.27
    environment: [MODE=release]
    ports: ["8080:80"]
    secrets: [{ source: tls_key, target: /etc/tls/key, mode: 0400 }]
  worker:
    image: busybox
    command: [sh, -c, "sleep 1d"]
secrets:
  tls_key: { file: ./tls.key }
`;

function input(overrides: Partial<RenderInput> = {}): RenderInput {
  return {
    swarmStack: "shop-prod",
    ownership: { orgId: ORG, environmentId: ENV, releaseId: RELEASE },
    releaseCompose,
    overlay: {
      envJson: { global: { LOG: "info" }, services: { web: { MODE: "prod" } } },
      composePatchYaml: "services:\n  web:\n    deploy: { replicas: 3 }\n",
    },
    secrets: [secret("tls_key", 4, ["web"]), secret("db_password", 2, []), secret("only_gone", 1, ["removed-service"])],
    ...overrides,
  };
}

describe("renderDesiredState", () => {
  it("renders release + patch + env + secret references", () => {
    const { document, secretRefs, warnings } = renderDesiredState(input());
    expect(document).to.deep.equal({
      networks: { default: { labels: LABELS } },
      secrets: {
        db_password: { external: true, name: swarmName(secret("db_password", 2, [])) },
        only_gone: { external: true, name: swarmName(secret("only_gone", 1, [])) },
        tls_key: { external: true, name: swarmName(secret("tls_key", 4, [])) },
      },
      services: {
        web: {
          deploy: { labels: LABELS, replicas: 3 },
          environment: { LOG: "info", MODE: "prod" },
          image: "nginx:1.27",
          ports: ["8080:80"],
          secrets: [
            { mode: 0o400, source: "tls_key", target: "/etc/tls/key" },
            { source: "db_password", target: "db_password" },
          ],
        },
        worker: {
          command: ["sh", "-c", "sleep 1d"],
          deploy: { labels: LABELS },
          environment: { LOG: "info" },
          image: "busybox",
          secrets: [{ source: "db_password", target: "db_password" }],
        },
      },
    });
    expect(secretRefs).to.deep.equal([
      {
        name: "db_password",
        version: 2,
        externalName: swarmName(secret("db_password", 2, [])),
        services: ["web", "worker"],
      },
      { name: "only_gone", version: 1, externalName: swarmName(secret("only_gone", 1, [])), services: [] },
      { name: "tls_key", version: 4, externalName: swarmName(secret("tls_key", 4, [])), services: ["web"] },
    ]);
    // The release's file-based declaration was replaced by the environment secret: nothing local remains.
    expect(warnings).to.deep.equal([]);
  });

  it("is deterministic: same input, same bytes, keys sorted, strings quoted", () => {
    const a = renderDesiredState(input()).yaml;
    const shuffled = input({ secrets: [...input().secrets].reverse() });
    expect(renderDesiredState(shuffled).yaml).to.equal(a);
    expect(a.indexOf("secrets:")).to.be.lessThan(a.indexOf("services:"));
    expect(a).to.include('- "8080:80"');
    expect(parse(a)).to.deep.equal(renderDesiredState(input()).document);
  });

  it("never contains a secret value (it never receives one) and changes name when a secret rotates", () => {
    const v2 = renderDesiredState(input()).yaml;
    const v3 = renderDesiredState(
      input({ secrets: [secret("db_password", 3, []), secret("tls_key", 4, ["web"])] }),
    ).yaml;
    expect(v2).to.include(`"${swarmName(secret("db_password", 2, []))}"`);
    expect(v3).to.include(`"${swarmName(secret("db_password", 3, []))}"`);
    expect(swarmName(secret("db_password", 2, []))).to.match(/^shop-prod_db_password_[0-9a-f]{12}$/);
  });

  it("never reuses a Swarm secret name: not after delete + re-create, not in another environment", () => {
    const name = (over: Partial<RenderInput>, s = secret("db_password", 1, [])) =>
      renderDesiredState(input({ secrets: [s], ...over })).secretRefs[0]?.externalName;
    const first = name({});
    // Deleted and created again: version 1 again, but a new row (and a new write).
    const recreated = name({}, secret("db_password", 1, [], "id-recreated"));
    const otherEnv = name({ ownership: { orgId: ORG, environmentId: RELEASE, releaseId: RELEASE } });
    const otherStack = name({ swarmStack: "shop-staging" });
    expect(new Set([first, recreated, otherEnv, otherStack]).size).to.equal(4);
    expect(otherStack).to.match(/^shop-staging_db_password_/);
    expect(name({}), "deterministic").to.equal(first);
  });

  it("labels every service, network, secret and config it creates; ownership wins, external ones are left alone", () => {
    const { document } = renderDesiredState(
      input({
        releaseCompose: [
          "services:",
          "  web: { image: nginx, deploy: { labels: [traefik.enable=true, io.stackyard.environment=forged] } }",
          "  api: { image: busybox, networks: [back], deploy: { labels: { team: core } } }",
          "networks: { back: { driver: overlay }, edge: { external: true } }",
          "configs: { nginx: { file: ./nginx.conf } }",
          "secrets: { shared: { external: true } }",
        ].join("\n"),
        overlay: { envJson: {}, composePatchYaml: "" },
        secrets: [],
        ownership: { orgId: ORG, environmentId: ENV, releaseId: RELEASE, deploymentId: "dep-1" },
      }),
    );
    const labels = { ...LABELS, "io.stackyard.deployment": "dep-1" };
    const services = document.services as Record<string, { deploy: { labels: Record<string, string> } }>;
    expect(services.web?.deploy.labels).to.deep.equal({ "traefik.enable": "true", ...labels });
    expect(services.api?.deploy.labels).to.deep.equal({ team: "core", ...labels });
    expect(document.networks).to.deep.equal({
      back: { driver: "overlay", labels },
      default: { labels },
      edge: { external: true },
    });
    expect(document.configs).to.deep.equal({ nginx: { file: "./nginx.conf", labels } });
    expect(document.secrets).to.deep.equal({ shared: { external: true } });
  });

  it("declares no default network when every service names its own", () => {
    const { document } = renderDesiredState(
      input({
        releaseCompose: "services: { web: { image: nginx, networks: [back] } }\nnetworks: { back: {} }\n",
        overlay: { envJson: {}, composePatchYaml: "" },
        secrets: [],
      }),
    );
    expect(document.networks).to.deep.equal({ back: { labels: LABELS } });
  });

  it("rejects a patch that breaks the release (no image left)", () => {
    expect(() =>
      renderDesiredState(input({ overlay: { envJson: {}, composePatchYaml: "services: { web: { image: null } }" } })),
    )
      .to.throw(AppError)
      .with.property("type", "COMPOSE_SERVICE_WITHOUT_IMAGE");
  });

  it("rejects env for an unknown service and a Swarm secret name over 64 characters", () => {
    expect(() =>
      renderDesiredState(input({ overlay: { envJson: { services: { db: { A: "1" } } }, composePatchYaml: "" } })),
    )
      .to.throw(AppError)
      .with.property("type", "OVERLAY_UNKNOWN_SERVICE");
    expect(() => renderDesiredState(input({ secrets: [secret("n".repeat(45), 1, [])] })))
      .to.throw(AppError)
      .with.property("type", "RENDER_SECRET_NAME_TOO_LONG");
  });

  it("returns the warnings of the rendered state", () => {
    const { warnings } = renderDesiredState(
      input({ overlay: { envJson: {}, composePatchYaml: "services: { worker: { restart: always } }" }, secrets: [] }),
    );
    expect(warnings.map((w) => [w.code, w.service, w.key])).to.deep.equal([
      ["COMPOSE_LOCAL_FILE", null, "secrets.tls_key.file"],
      ["COMPOSE_KEY_IGNORED", "worker", "restart"],
    ]);
  });
});

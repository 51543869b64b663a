import { expect } from "chai";
import { parse } from "yaml";
import { AppError } from "../_shared/errors.js";
import { renderDesiredState, type RenderInput } from "./render.js";

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
    stackName: "shop",
    releaseCompose,
    overlay: {
      envJson: { global: { LOG: "info" }, services: { web: { MODE: "prod" } } },
      composePatchYaml: "services:\n  web:\n    deploy: { replicas: 3 }\n",
    },
    secrets: [
      { name: "tls_key", version: 4, services: ["web"] },
      { name: "db_password", version: 2, services: [] },
      { name: "only_gone", version: 1, services: ["removed-service"] },
    ],
    ...overrides,
  };
}

describe("renderDesiredState", () => {
  it("renders release + patch + env + secret references", () => {
    const { document, secretRefs, warnings } = renderDesiredState(input());
    expect(document).to.deep.equal({
      secrets: {
        db_password: { external: true, name: "shop_db_password_v2" },
        only_gone: { external: true, name: "shop_only_gone_v1" },
        tls_key: { external: true, name: "shop_tls_key_v4" },
      },
      services: {
        web: {
          deploy: { replicas: 3 },
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
          environment: { LOG: "info" },
          image: "busybox",
          secrets: [{ source: "db_password", target: "db_password" }],
        },
      },
    });
    expect(secretRefs).to.deep.equal([
      { name: "db_password", version: 2, externalName: "shop_db_password_v2", services: ["web", "worker"] },
      { name: "only_gone", version: 1, externalName: "shop_only_gone_v1", services: [] },
      { name: "tls_key", version: 4, externalName: "shop_tls_key_v4", services: ["web"] },
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
      input({
        secrets: [
          { name: "db_password", version: 3, services: [] },
          { name: "tls_key", version: 4, services: ["web"] },
        ],
      }),
    ).yaml;
    expect(v2).to.include('"shop_db_password_v2"');
    expect(v3).to.include('"shop_db_password_v3"');
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
    expect(() => renderDesiredState(input({ secrets: [{ name: "n".repeat(60), version: 1, services: [] }] })))
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

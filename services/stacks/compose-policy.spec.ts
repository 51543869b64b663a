import { expect } from "chai";
import { parseComposeYaml } from "./compose-validation.js";
import {
  assertComposePolicy,
  checkComposePolicy,
  ComposePolicyError,
  DEFAULT_POLICY,
  effectivePolicy,
  loosestPolicy,
  normaliseAllowListEntry,
  OPTIONAL_RULES,
  type EffectivePolicy,
  type OptionalRule,
  type PolicyViolation,
} from "./compose-policy.js";
import type { JsonObject } from "./json.js";

const doc = (yaml: string) => parseComposeYaml(yaml, 1 << 20) as JsonObject;
const check = (yaml: string, policy: EffectivePolicy = DEFAULT_POLICY) => checkComposePolicy(doc(yaml), policy);
const brief = (violations: PolicyViolation[]) => violations.map((v) => `${v.rule} ${v.path}`);
const allowing = (rule: OptionalRule, bindAllowList: string[] = []): EffectivePolicy => ({
  rules: { ...DEFAULT_POLICY.rules, [rule]: false },
  bindAllowList,
});
const withAllowList = (bindAllowList: string[]): EffectivePolicy => ({ ...DEFAULT_POLICY, bindAllowList });

describe("compose policy", () => {
  it("passes a plain service with named volumes, tmpfs and an overlay network", () => {
    expect(
      check(`
services:
  web:
    image: nginx
    volumes: [data:/var/lib/data, /anonymous, { type: tmpfs, target: /tmp }, { type: volume, source: data, target: /d }]
    networks: [front]
    deploy: { placement: { constraints: [node.role == worker, node.labels.zone == a] } }
volumes: { data: {} }
networks: { front: { driver: overlay } }
`),
    ).to.deep.equal([]);
  });

  describe("always-on rules", () => {
    it("local-file: secrets and configs read from the agent host, each with its path", () => {
      expect(
        brief(
          check(`
services: { web: { image: nginx } }
secrets: { key: { file: /var/lib/stackyard-agent/state.json }, ok: { external: true } }
configs: { conf: { file: ./nginx.conf }, fromenv: { environment: HOME } }
`),
        ),
      ).to.deep.equal([
        "local-file secrets.key.file",
        "local-file configs.conf.file",
        "local-file configs.fromenv.environment",
      ]);
    });

    it("env-file: string and list forms", () => {
      expect(
        brief(check("services: { a: { image: x, env_file: .env }, b: { image: x, env_file: [a.env, b.env] } }")),
      ).to.deep.equal(["env-file services.a.env_file", "env-file services.b.env_file"]);
    });

    it("bind-mount: short and long syntax outside the allow-list, relative and home paths", () => {
      const violations = check(
        `
services:
  web:
    image: nginx
    volumes:
      - /srv/app/data:/data
      - /etc:/host-etc:ro
      - ./conf:/conf
      - ~/.ssh:/root/.ssh
      - { type: bind, source: /opt/secret, target: /s }
      - { type: bind, source: ../up, target: /u }
`,
        withAllowList(["/srv/app"]),
      );
      expect(brief(violations)).to.deep.equal([
        "bind-mount services.web.volumes[1]",
        "bind-mount services.web.volumes[2]",
        "bind-mount services.web.volumes[3]",
        "bind-mount services.web.volumes[4]",
        "bind-mount services.web.volumes[5]",
      ]);
      expect(violations[1]!.message).to.contain("relative path");
    });

    it("bind-mount: `..` cannot climb out of an allowed directory, and a sibling prefix is not inside it", () => {
      expect(
        brief(
          check(
            "services: { w: { image: x, volumes: ['/srv/app/../../etc:/e', '/srv/application:/a', '/srv/app/x/:/x'] } }",
            withAllowList(["/srv/app"]),
          ),
        ),
      ).to.deep.equal(["bind-mount services.w.volumes[0]", "bind-mount services.w.volumes[1]"]);
    });

    it("bind-mount: a `${VAR}` source is refused (the CLI would resolve it on the agent host); `$$` is literal", () => {
      const violations = check(
        "services: { w: { image: x, volumes: ['${HOME}:/h', '$DATA/x:/x', '/srv/a$$b:/y', { type: bind, source: '${X:-/srv/app}', target: /z }] } }",
        withAllowList(["/srv"]),
      );
      expect(brief(violations)).to.deep.equal([
        "bind-mount services.w.volumes[0]",
        "bind-mount services.w.volumes[1]",
        "bind-mount services.w.volumes[3]",
      ]);
      expect(violations[0]!.message).to.contain("variable interpolation");
    });

    it("bind-mount: a named volume that is a local-driver bind is checked at its device", () => {
      expect(
        brief(
          check(`
services: { w: { image: x, volumes: [hostetc:/e] } }
volumes:
  hostetc: { driver: local, driver_opts: { type: none, o: bind, device: /etc } }
  nfs: { driver_opts: { type: nfs, o: "addr=10.0.0.1,rw", device: ":/export" } }
`),
        ),
      ).to.deep.equal(["bind-mount volumes.hostetc.driver_opts.device"]);
    });

    it("allows binds under the allow-list", () => {
      expect(
        check(
          "services: { w: { image: x, volumes: ['/srv/app:/a', '/srv/app/logs:/l:rw', { type: bind, source: /srv/app/c, target: /c }] } }",
          withAllowList(["/srv/app"]),
        ),
      ).to.deep.equal([]);
    });
  });

  describe("default rules", () => {
    const cases: Array<[OptionalRule, string, string[]]> = [
      ["privileged", "services: { w: { image: x, privileged: true } }", ["services.w.privileged"]],
      ["cap-add", "services: { w: { image: x, cap_add: [NET_ADMIN, SYS_ADMIN] } }", ["services.w.cap_add"]],
      ["devices", "services: { w: { image: x, devices: ['/dev/kvm:/dev/kvm'] } }", ["services.w.devices"]],
      ["host-network", "services: { w: { image: x, network_mode: host } }", ["services.w.network_mode"]],
      ["host-pid", "services: { w: { image: x, pid: host } }", ["services.w.pid"]],
      ["host-ipc", "services: { w: { image: x, ipc: host } }", ["services.w.ipc"]],
      [
        "host-network",
        "services: { w: { image: x, networks: [hostnet] }, v: { image: x, networks: { host: {} } } }\nnetworks: { hostnet: { external: true, name: host }, host: { external: true } }",
        ["services.w.networks[0]", "services.v.networks.host"],
      ],
      [
        "manager-placement",
        "services: { w: { image: x, deploy: { placement: { constraints: ['node.role==manager', 'node.role != worker'] } } } }",
        ["services.w.deploy.placement.constraints[0]", "services.w.deploy.placement.constraints[1]"],
      ],
    ];
    for (const [rule, yaml, paths] of cases) {
      it(`${rule}: refused by default, allowed when the rule is off`, () => {
        expect(check(yaml).map((v) => [v.rule, v.path])).to.deep.equal(paths.map((p) => [rule, p]));
        expect(check(yaml, allowing(rule))).to.deep.equal([]);
      });
    }

    it("docker-socket and root-bind fire on top of the allow-list rule, and need both to be lifted", () => {
      const yaml =
        "services: { w: { image: x, volumes: ['/var/run/docker.sock:/var/run/docker.sock', '/:/host', { type: bind, source: /run, target: /r }] } }";
      expect(brief(check(yaml))).to.deep.equal([
        "docker-socket services.w.volumes[0]",
        "bind-mount services.w.volumes[0]",
        "root-bind services.w.volumes[1]",
        "docker-socket services.w.volumes[1]",
        "bind-mount services.w.volumes[1]",
        "docker-socket services.w.volumes[2]",
        "bind-mount services.w.volumes[2]",
      ]);
      expect(brief(check(yaml, allowing("docker-socket", ["/var/run/docker.sock"])))).to.deep.equal([
        "root-bind services.w.volumes[1]",
        "bind-mount services.w.volumes[1]",
        "bind-mount services.w.volumes[2]",
      ]);
    });

    it("a string `privileged` (after interpolation) counts unless it says false", () => {
      expect(
        brief(check("services: { a: { image: x, privileged: 'true' }, b: { image: x, privileged: 'false' } }")),
      ).to.deep.equal(["privileged services.a.privileged"]);
    });
  });

  it("sees through anchors and merge keys", () => {
    expect(
      brief(
        check(`
x-risky: &risky
  privileged: true
  volumes: &vols
    - /etc:/etc
services:
  a:
    <<: *risky
    image: x
  b:
    image: x
    volumes: *vols
`),
      ),
    ).to.deep.equal([
      "privileged services.a.privileged",
      "bind-mount services.a.volumes[0]",
      "bind-mount services.b.volumes[0]",
    ]);
  });

  it("lists every violation in one error with a stable code", () => {
    try {
      assertComposePolicy(
        doc("services: { w: { image: x, privileged: true, env_file: .env, volumes: ['/:/h'] } }"),
        DEFAULT_POLICY,
        "org policy",
      );
      expect.fail("expected a policy error");
    } catch (err) {
      expect(err).to.be.instanceOf(ComposePolicyError);
      const e = err as ComposePolicyError;
      expect(e.code).to.equal(422);
      expect(e.type).to.equal("COMPOSE_POLICY_VIOLATION");
      expect(e.violations.map((v) => v.rule)).to.deep.equal([
        "env-file",
        "privileged",
        "root-bind",
        "docker-socket",
        "bind-mount",
      ]);
      expect(e.message).to.contain("services.w.privileged (privileged)");
    }
  });

  it("a cluster override wins per rule and replaces the allow-list; the loosest policy joins them", () => {
    const org: EffectivePolicy = withAllowList(["/srv"]);
    const cluster = effectivePolicy(org, { rules: { privileged: false }, bindAllowList: ["/data"] });
    expect(cluster.rules.privileged).to.equal(false);
    expect(cluster.rules["cap-add"]).to.equal(true);
    expect(cluster.bindAllowList).to.deep.equal(["/data"]);
    expect(effectivePolicy(org, { rules: {}, bindAllowList: null }).bindAllowList).to.deep.equal(["/srv"]);
    const loosest = loosestPolicy([org, cluster]);
    expect(loosest.rules.privileged).to.equal(false);
    expect(loosest.bindAllowList).to.deep.equal(["/data", "/srv"]);
    expect(OPTIONAL_RULES.filter((r) => !loosest.rules[r])).to.deep.equal(["privileged"]);
  });

  it("normalises allow-list entries and refuses relative or interpolated ones", () => {
    expect(normaliseAllowListEntry("/srv/app/")).to.equal("/srv/app");
    expect(normaliseAllowListEntry("/srv//app/../data")).to.equal("/srv/data");
    expect(normaliseAllowListEntry("srv")).to.equal(null);
    expect(normaliseAllowListEntry("/srv/${X}")).to.equal(null);
  });
});

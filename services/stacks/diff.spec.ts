import { expect } from "chai";
import { diffRendered } from "./diff.js";
import { toYaml } from "./render.js";
import type { JsonObject } from "./json.js";

const from: JsonObject = {
  secrets: { db_password: { external: true, name: "shop_db_password_v1" } },
  services: {
    web: {
      image: "nginx:1.26",
      deploy: { replicas: 2, resources: { limits: { memory: "128M" } } },
      environment: { A: "1", B: "2", C: "3" },
      ports: ["8080:80", { target: 443, published: 8443, protocol: "tcp", mode: "host" }],
      secrets: [{ source: "db_password", target: "db_password" }],
      networks: ["front"],
    },
    worker: { image: "busybox", command: ["sleep", "1"] },
    legacy: { image: "old" },
  },
};

const to: JsonObject = {
  secrets: { db_password: { external: true, name: "shop_db_password_v2" } },
  services: {
    web: {
      image: "nginx:1.27",
      deploy: { replicas: 4, resources: { limits: { memory: "256M" } } },
      environment: { A: "1", B: "changed", D: "4" },
      ports: ["8080:80/tcp", "9090:90"],
      secrets: [{ source: "db_password", target: "db_password" }],
      networks: { front: null, back: { aliases: ["api"] } },
    },
    worker: { image: "busybox", command: ["sleep", "2"], deploy: { mode: "global" } },
    cron: { image: "cron" },
  },
};

describe("diffRendered", () => {
  it("summarises added, removed and changed services field by field", () => {
    const { services } = diffRendered(toYaml(from), toYaml(to));
    expect(services.added).to.deep.equal(["cron"]);
    expect(services.removed).to.deep.equal(["legacy"]);
    expect(services.changed).to.deep.equal([
      {
        name: "web",
        image: { from: "nginx:1.26", to: "nginx:1.27" },
        replicas: { from: 2, to: 4 },
        envKeys: { added: ["D"], removed: ["C"], changed: ["B"] },
        ports: { added: ["9090:90/tcp"], removed: ["8443:443/tcp (host)"] },
        secrets: { added: ["shop_db_password_v2"], removed: ["shop_db_password_v1"] },
        networks: { added: ["back"], removed: [] },
        resources: { from: { limits: { memory: "128M" } }, to: { limits: { memory: "256M" } } },
      },
      { name: "worker", replicas: { from: 1, to: "global" }, otherKeys: ["command"] },
    ]);
  });

  it("never puts an environment value in the structured diff", () => {
    const { services } = diffRendered(toYaml(from), toYaml(to));
    expect(JSON.stringify(services)).not.to.include('changed"]');
    expect(JSON.stringify(services)).not.to.match(/"2"|"4"/);
  });

  it("gives a unified diff of the two rendered files", () => {
    const { unified } = diffRendered(toYaml(from), toYaml(to), { from: "release 1", to: "release 2" });
    expect(unified).to.match(/^=+\n--- release 1\n\+\+\+ release 2\n/);
    expect(unified).to.include('-    image: "nginx:1.26"');
    expect(unified).to.include('+    image: "nginx:1.27"');
  });

  it("reports nothing for identical states, and everything as added against nothing deployed", () => {
    const same = diffRendered(toYaml(to), toYaml(to));
    expect(same.services).to.deep.equal({ added: [], removed: [], changed: [] });
    expect(same.unified).not.to.match(/^[+-] /m);
    const first = diffRendered("", toYaml(to));
    expect(first.services.added).to.deep.equal(["cron", "web", "worker"]);
  });

  it("lists other changed keys, including deploy settings outside replicas and resources", () => {
    const a = toYaml({
      services: { s: { image: "x", volumes: ["a:/a"], deploy: { update_config: { order: "stop-first" } } } },
    });
    const b = toYaml({
      services: { s: { image: "x", volumes: ["b:/a"], deploy: { update_config: { order: "start-first" } } } },
    });
    expect(diffRendered(a, b).services.changed).to.deep.equal([{ name: "s", otherKeys: ["deploy", "volumes"] }]);
  });
});

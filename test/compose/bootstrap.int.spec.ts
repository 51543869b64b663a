/**
 * scripts/compose-bootstrap.ts against a real Postgres, with the compose file's bootstrap environment (paths moved
 * to a temporary directory): secrets, NATS config, migrations, first org, the `local` cluster and its hand-off.
 */
import { createHash, X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { createUser } from "nkeys.js";
import { natsStateFiles } from "../../nats/identity.js";
import { natsTlsFiles } from "../../nats/tls.js";
import {
  FIRST_ADMIN_EMAIL,
  HANDOFF_FILES,
  LOCAL_CLUSTER_NAME,
  SECRET_FILES,
  clustersSettings,
  controlPlaneConfig,
  runBootstrap,
  type BootstrapOptions,
} from "../../scripts/compose-bootstrap.js";
import type { Db } from "../../services/_shared/db.js";
import { createTestDb, testDatabaseUrl, truncateAll } from "../../services/_shared/testing/database.js";
import { registerAgent } from "../../services/clusters/clusters.logic.js";
import { loadNatsIdentity } from "../../services/clusters/nats-admin.js";
import { loadCompose, serviceEnv } from "./compose.js";

const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");
const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

describe("compose bootstrap (real Postgres)", function () {
  this.timeout(60_000);
  let db: Db;
  let dir: string;
  let options: BootstrapOptions;
  let logged: string[];

  before(async () => {
    db = await createTestDb();
  });
  after(async () => {
    await db.destroy();
  });
  beforeEach(async () => {
    await truncateAll(db);
    dir = await mkdtemp(join(tmpdir(), "stackyard-bootstrap-"));
    const stateDir = join(dir, "state");
    const nats = natsStateFiles(join(stateDir, "nats"));
    logged = [];
    options = {
      env: {
        ...serviceEnv(loadCompose().services.bootstrap!),
        PATH: process.env.PATH,
        DATABASE_URL: testDatabaseUrl(),
        STACKYARD_STATE_DIR: stateDir,
        NATS_CREDS: nats.controlPlaneCredsFile,
        NATS_SYSTEM_CREDS: nats.systemCredsFile,
        NATS_IDENTITY_FILE: nats.identityFile,
        NATS_TLS_CA_FILE: natsTlsFiles(join(stateDir, "nats")).caFile,
      },
      stateDir,
      handoffDir: join(dir, "handoff"),
      uiUrl: "http://127.0.0.1:8080",
      newAgentToken: false,
      log: (line) => logged.push(line),
    };
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const handoff = (file: string) => readFile(join(options.handoffDir, file), "utf8").then((s) => s.trim());
  const tokenRow = (token: string) =>
    db("cluster_registration_tokens")
      .where({ token_hash: sha256(token) })
      .first<{ used_at: Date | null } | undefined>();

  it("sets up everything on the first run and prints the admin password once", async () => {
    const result = await runBootstrap(options);

    for (const file of Object.values(SECRET_FILES)) {
      expect(await mode(join(options.stateDir, file)), file).to.equal(0o600);
    }
    expect(await mode(join(options.stateDir, "secrets"))).to.equal(0o700);
    const serverConf = await readFile(join(options.stateDir, "nats", "server.conf"), "utf8");
    expect(serverConf).to.match(/^host: 0\.0\.0\.0$/m);
    // The server certificate in the state volume names the compose service the containers dial (tls://nats:…),
    // signed by the CA the control plane verifies with and hands to agents.
    const tls = natsTlsFiles(join(options.stateDir, "nats"));
    const cert = new X509Certificate(await readFile(tls.certFile));
    expect(cert.subjectAltName).to.include("DNS:nats");
    expect(cert.verify(new X509Certificate(await readFile(tls.caFile)).publicKey)).to.equal(true);
    expect(serverConf).to.include(tls.certFile);

    const password = result.firstOrg.password!;
    expect(password).to.have.length.greaterThan(16);
    expect(logged.join("\n")).to.include(password).and.include(FIRST_ADMIN_EMAIL);

    const cluster = await db("clusters").where({ id: result.cluster.clusterId }).first<{ name: string }>();
    expect(cluster.name).to.equal(LOCAL_CLUSTER_NAME);
    expect(await handoff(HANDOFF_FILES.clusterId)).to.equal(result.cluster.clusterId);
    const token = await handoff(HANDOFF_FILES.registrationToken);
    expect(await mode(join(options.handoffDir, HANDOFF_FILES.registrationToken))).to.equal(0o600);
    expect((await tokenRow(token))?.used_at).to.equal(null);
    // Nothing secret beyond the one-time password reaches the log.
    const secrets = await Promise.all(
      Object.values(SECRET_FILES).map((f) => readFile(join(options.stateDir, f), "utf8")),
    );
    for (const secret of [...secrets.map((s) => s.trim()), token]) expect(logged.join("\n")).to.not.include(secret);
  });

  it("is idempotent: same secrets, same org and cluster, no second password", async () => {
    const first = await runBootstrap(options);
    const secretsBefore = await readFile(join(options.stateDir, SECRET_FILES.masterKey), "utf8");
    logged = [];
    const second = await runBootstrap(options);
    expect(second.secretsCreated).to.deep.equal([]);
    expect(await readFile(join(options.stateDir, SECRET_FILES.masterKey), "utf8")).to.equal(secretsBefore);
    expect(second.migrationsApplied).to.deep.equal([]);
    expect(second.firstOrg.password).to.equal(null);
    expect(second.firstOrg.orgId).to.equal(first.firstOrg.orgId);
    expect(second.cluster.clusterId).to.equal(first.cluster.clusterId);
    expect(await db("orgs").count<{ count: string }[]>("id as count")).to.deep.equal([{ count: "1" }]);
    // No agent yet: a fresh token replaces the unused one.
    expect(second.cluster.registrationToken).to.not.equal(first.cluster.registrationToken);
    expect(await tokenRow(first.cluster.registrationToken!)).to.equal(undefined);
  });

  it("hands off no token once an agent registered, unless a new one is asked for", async () => {
    const first = await runBootstrap(options);
    const config = controlPlaneConfig(options.env, {
      authJwtKeys: (await readFile(join(options.stateDir, SECRET_FILES.authJwtKeys), "utf8")).trim(),
      masterKey: (await readFile(join(options.stateDir, SECRET_FILES.masterKey), "utf8")).trim(),
      bootstrapToken: (await readFile(join(options.stateDir, SECRET_FILES.bootstrapToken), "utf8")).trim(),
    });
    const identity = await loadNatsIdentity(config.nats.identityFile);
    await registerAgent(
      db,
      identity,
      {
        token: first.cluster.registrationToken!,
        publicKey: createUser().getPublicKey(),
        hostname: "swarm-manager",
        agentVersion: "0.1.0",
        docker: {
          dockerVersion: "27.5.1",
          apiVersion: "1.47",
          os: "linux",
          arch: "x86_64",
          swarmState: "active",
          isManager: true,
          nodeId: "n1",
          clusterId: "s1",
          nodeCount: 2,
          managerCount: 1,
        },
      },
      clustersSettings(config),
      { ip: null, userAgent: null },
    );

    const second = await runBootstrap(options);
    expect(second.cluster).to.deep.equal({ clusterId: first.cluster.clusterId, registrationToken: null });
    expect(await handoff(HANDOFF_FILES.clusterId)).to.equal(first.cluster.clusterId);
    const stale = await handoff(HANDOFF_FILES.registrationToken).catch((e: NodeJS.ErrnoException) => e.code);
    expect(stale).to.equal("ENOENT");

    const third = await runBootstrap({ ...options, newAgentToken: true });
    expect(third.cluster.registrationToken).to.be.a("string");
    expect(await handoff(HANDOFF_FILES.registrationToken)).to.equal(third.cluster.registrationToken);
  });

  it("reports an invalid configuration before touching the database", async () => {
    const err = await runBootstrap({ ...options, env: { ...options.env, NATS_URL: "http://nats" } }).catch(
      (e: unknown) => e as Error,
    );
    expect(err).to.be.instanceOf(Error);
    expect((err as Error).message).to.include("NATS_URL must use nats: or tls:");
    expect(await db("orgs").count<{ count: string }[]>("id as count")).to.deep.equal([{ count: "0" }]);
  });
});

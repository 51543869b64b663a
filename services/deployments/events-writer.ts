/**
 * Persists agents' deployment events from JetStream into deployment_events: in order, exactly once (idempotent on
 * (deployment_id, seq)), with every known secret value masked, batched per deployment. A terminal event moves the
 * deployment to its final status. Events for a deployment of another cluster are dropped: an agent may only
 * speak for its own cluster, and the subject (enforced by NATS permissions) says which one it is.
 */
import { recordAgentEventLines } from "../_shared/metrics.js";
import { systemScope } from "../_shared/tenant.js";
import type { Knex } from "knex";
import type { Db } from "../_shared/db.js";
import type { DeploymentEvent } from "../../nats/protocol/messages.js";
import { parseDeploymentEvents } from "../../nats/protocol/messages.js";
import { parseAgentSubject } from "../../nats/protocol/subjects.js";
import { parseImagePins } from "../../nats/protocol/image-pins.js";
import type { MasterKeys } from "../_shared/master-keys.js";
import { loadRegistryLogins, loadSecretValues } from "../stacks/index.js";
import { TtlCache } from "../_shared/ttl-cache.js";
import { secretMasker } from "../../nats/protocol/masking.js";
import { insertEventsOfDeployments } from "./events.repo.js";
import { applyBuildOutcome, buildInfo, type BuildInfo } from "./builds/builds.logic.js";
import { insertBuildEvents } from "./builds/builds.repo.js";
import { applyFailurePolicy } from "./failure-policy.js";
import { OUTCOME_STATUS, transition } from "./lifecycle.js";
import type { DeploymentEventView, DeploymentStatus } from "./views.js";

/** What the agent may put in a terminal event's `data.code` (the protocol's error code shape). */
const ERROR_CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

interface DeploymentInfo {
  orgId: string;
  clusterId: string;
  environmentId: string;
  secretValues: string[];
}

export interface IncomingEvent {
  subject: string;
  data: Uint8Array;
}

export interface WrittenBatch {
  deploymentId: string;
  events: DeploymentEventView[];
  status: DeploymentStatus | null;
  /** An automatic rollback the failure policy created (failure-policy.ts): to enqueue, now that it committed. */
  rollbackDeploymentId?: string;
  /** `deploymentId` is a build's id: its output travels as a deployment's does (builds/builds.logic.ts). */
  build?: true;
}

export class DeploymentEventWriter {
  private readonly info = new TtlCache<DeploymentInfo>(10 * 60_000, 10_000);
  private readonly decoder = new TextDecoder();

  constructor(
    private readonly db: Db,
    private readonly masterKeys: MasterKeys,
  ) {}

  private async infoOf(deploymentId: string): Promise<DeploymentInfo | null> {
    const cached = this.info.get(deploymentId);
    if (cached) return cached;
    const row = await this.db("deployments as d")
      .join("environments as e", "e.id", "d.environment_id")
      .where("d.id", deploymentId)
      .first<{ org_id: string; cluster_id: string; environment_id: string } | undefined>(
        "d.org_id",
        "e.cluster_id",
        "d.environment_id",
      );
    if (!row) return null;
    const secrets = await loadSecretValues(
      systemScope(this.db, row.org_id, "event-writer"),
      row.environment_id,
      this.masterKeys,
    );
    const logins = await loadRegistryLogins(
      systemScope(this.db, row.org_id, "event-writer"),
      row.environment_id,
      this.masterKeys,
    );
    const info = {
      orgId: row.org_id,
      clusterId: row.cluster_id,
      environmentId: row.environment_id,
      // Registry passwords too (and the base64 `user:password` a docker config holds): masked like secrets.
      secretValues: [
        ...secrets.map((s) => s.value.toString("utf8")),
        ...logins.flatMap((l) => [l.password, Buffer.from(`${l.username}:${l.password}`).toString("base64")]),
      ],
    };
    this.info.set(deploymentId, info);
    return info;
  }

  /** Writes a batch of raw JetStream messages; returns what was newly stored, grouped per deployment. */
  async write(batch: IncomingEvent[]): Promise<WrittenBatch[]> {
    const byDeployment = new Map<string, { clusterId: string; events: DeploymentEvent[] }>();
    for (const msg of batch) {
      const parsed = parseAgentSubject(msg.subject);
      if (!parsed || parsed.kind !== "events" || !parsed.id) continue;
      const { clusterId, id: deploymentId } = parsed;
      let events: DeploymentEvent[];
      try {
        // One event, or a batch of them (an agent sends what waited during its previous publish in one message).
        events = parseDeploymentEvents(JSON.parse(this.decoder.decode(msg.data)));
      } catch {
        continue; // malformed: dropped (and acked), never retried forever
      }
      if (events[0]!.deploymentId !== deploymentId) continue;
      const group = byDeployment.get(deploymentId) ?? { clusterId, events: [] };
      for (const event of events) group.events.push(event);
      byDeployment.set(deploymentId, group);
    }
    const groups: Array<{ deploymentId: string; info: DeploymentInfo; events: DeploymentEvent[] }> = [];
    const builds: WrittenBatch[] = [];
    for (const [deploymentId, group] of byDeployment) {
      const info = await this.infoOf(deploymentId);
      if (!info) {
        // Not a deployment: a build's output travels the same way (builds/builds.logic.ts).
        const build = await this.writeBuild(deploymentId, group);
        if (build) builds.push(build);
        continue;
      }
      if (info.clusterId === group.clusterId) groups.push({ deploymentId, info, events: group.events });
    }
    if (groups.length === 0) return builds;
    // One transaction and one multi-row INSERT for the whole batch, whatever the number of deployments in it: at
    // 2,000 lines/s over 10 deployments a 5 ms batch holds about one line per deployment, and a transaction per
    // deployment capped the writer near 500 lines/s.
    const results = await this.db.transaction(async (trx) => {
      const masks = new Map(groups.map((g) => [g.deploymentId, secretMasker(g.info.secretValues)]));
      const stored = await insertEventsOfDeployments(
        trx,
        groups.map((g) => {
          const mask = masks.get(g.deploymentId)!;
          return {
            orgId: g.info.orgId,
            deploymentId: g.deploymentId,
            events: g.events.map((e) => ({
              seq: e.seq,
              ts: new Date(e.ts),
              level: e.level,
              message: mask.text(e.message),
              data: {
                ...(e.data ? mask.json(e.data) : {}),
                ...(e.outcome ? { terminal: true, outcome: e.outcome, status: OUTCOME_STATUS[e.outcome] } : {}),
              },
            })),
          };
        }),
      );
      const out: WrittenBatch[] = [];
      for (const g of groups) {
        const events = stored.get(g.deploymentId) ?? [];
        const ending = await this.applyTerminal(trx, g.deploymentId, g.events, masks.get(g.deploymentId)!);
        events.push(...ending.events);
        if (events.length > 0 || ending.status)
          out.push({
            deploymentId: g.deploymentId,
            events,
            status: ending.status,
            ...(ending.rollbackDeploymentId ? { rollbackDeploymentId: ending.rollbackDeploymentId } : {}),
          });
      }
      return out;
    });
    for (const r of results) recordAgentEventLines(r.events.map((e) => new Date(e.ts)));
    return [...builds, ...results];
  }

  /**
   * A terminal event among a deployment's batch moves it to its final status (once: `transition` is a no-op for a
   * deployment already ended), records the pinned images of a success and applies the failure policy of a failure.
   */
  private async applyTerminal(
    trx: Knex.Transaction,
    deploymentId: string,
    events: DeploymentEvent[],
    mask: ReturnType<typeof secretMasker>,
  ): Promise<{ events: DeploymentEventView[]; status: DeploymentStatus | null; rollbackDeploymentId: string | null }> {
    const terminal = events.find((e) => e.outcome !== null);
    if (!terminal?.outcome) return { events: [], status: null, rollbackDeploymentId: null };
    const to = OUTCOME_STATUS[terminal.outcome];
    const code = terminal.data?.code;
    // The headline is the agent's `data.error` (the root cause alone); older agents only send the line.
    const headline = typeof terminal.data?.error === "string" ? terminal.data.error : terminal.message;
    const row = await transition(trx, deploymentId, to, {
      errorMessage: to === "SUCCEEDED" ? null : mask.text(headline),
      errorCode: to !== "SUCCEEDED" && typeof code === "string" && ERROR_CODE.test(code) ? code : null,
    });
    if (!row) return { events: [], status: null, rollbackDeploymentId: null };
    const images = to === "SUCCEEDED" ? parseImagePins(terminal.data?.images) : null;
    // What the services ran: a later deployment of this release to the environment deploys exactly these.
    if (images)
      await trx("deployments")
        .where({ id: deploymentId })
        .update({ images: JSON.stringify(images) });
    if (to !== "FAILED") return { events: [], status: to, rollbackDeploymentId: null };
    const policy = await applyFailurePolicy(trx, row, terminal.data ?? {});
    return { events: policy.events, status: to, rollbackDeploymentId: policy.rollbackDeploymentId };
  }

  private readonly builds = new TtlCache<BuildInfo>(10 * 60_000, 10_000);

  private async writeBuild(
    buildId: string,
    group: { clusterId: string; events: DeploymentEvent[] },
  ): Promise<WrittenBatch | null> {
    let info = this.builds.get(buildId);
    if (!info) {
      const found = await buildInfo(this.db, buildId, this.masterKeys);
      if (!found) return null;
      info = found;
      this.builds.set(buildId, info);
    }
    if (info.clusterId !== group.clusterId) return null;
    const { orgId } = info;
    const mask = secretMasker(info.secretValues);
    const terminal = group.events.find((e) => e.outcome !== null);
    const result = await this.db.transaction(async (trx) => {
      const stored = await insertBuildEvents(
        trx,
        orgId,
        buildId,
        group.events.map((e) => ({
          seq: e.seq,
          ts: new Date(e.ts),
          level: e.level,
          message: mask.text(e.message),
          data: {
            ...(e.data ? mask.json(e.data) : {}),
            ...(e.outcome ? { terminal: true, outcome: e.outcome, status: OUTCOME_STATUS[e.outcome] } : {}),
          },
        })),
      );
      let status: DeploymentStatus | null = null;
      if (terminal?.outcome) {
        const headline = typeof terminal.data?.error === "string" ? terminal.data.error : terminal.message;
        const applied = await applyBuildOutcome(
          trx,
          buildId,
          OUTCOME_STATUS[terminal.outcome] as "SUCCEEDED" | "FAILED" | "CANCELED",
          terminal.data ? mask.json(terminal.data) : {},
          mask.text(headline),
        );
        if (applied) {
          status = applied.status;
          stored.push(...applied.extra);
        }
      }
      return { stored, status };
    });
    if (result.stored.length === 0 && !result.status) return null;
    return { deploymentId: buildId, events: result.stored, status: result.status, build: true };
  }
}

/**
 * Releases and environment changes on the integration subjects (catalogue: openapi/asyncapi.yaml). Names only:
 * a variable's or a secret's value never appears here. Published once the change committed.
 */
import type { Knex } from "knex";
import { afterCommit } from "../_shared/after-commit.js";
import { integrationEnvelope, publishIntegrationEvent } from "../_shared/integration-events.js";
import { integrationSubjects } from "../../nats/protocol/integration-subjects.js";

export interface ReleaseCreatedData {
  releaseId: string;
  stackId: string;
  version: number;
  sourceType: string;
  sourceRef: string | null;
  composeSha256: string;
  createdAt: string;
}

export function publishReleaseCreated(db: Knex | Knex.Transaction, orgId: string, data: ReleaseCreatedData): void {
  afterCommit(db, () =>
    publishIntegrationEvent(
      integrationSubjects.releaseCreated(orgId, data.stackId),
      integrationEnvelope(orgId, "release.created", data),
    ),
  );
}

export type EnvironmentChange =
  | { change: "created"; environmentId: string; stackId: string; name: string; clusterId: string | null }
  | {
      change: "overlay";
      environmentId: string;
      globalVariables: string[];
      serviceVariables: Record<string, string[]>;
    }
  | {
      change: "secret";
      environmentId: string;
      secret: { name: string; version: number; action: "created" | "rotated" | "deleted" };
    };

export function publishEnvironmentChanged(db: Knex | Knex.Transaction, orgId: string, data: EnvironmentChange): void {
  afterCommit(db, () =>
    publishIntegrationEvent(
      integrationSubjects.environment(orgId, data.environmentId, data.change),
      integrationEnvelope(
        orgId,
        `environment.${data.change === "created" ? "created" : `${data.change}_changed`}`,
        data,
      ),
    ),
  );
}

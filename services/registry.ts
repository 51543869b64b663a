/** Which Moleculer service each SERVICES entry starts, and how a process wires its dependencies. */
import { ServiceBroker, type ServiceSchema } from "moleculer";
import { createBrokerOptions } from "../moleculer.config.js";
import { createAlertsService } from "./alerts/index.js";
import { createApiService } from "./api/index.js";
import { createAuditService } from "./audit/index.js";
import { createAuthService } from "./auth/index.js";
import { createClustersService } from "./clusters/index.js";
import { createDeploymentsService, createDeployWorkerService } from "./deployments/index.js";
import { createIngressService } from "./ingress/index.js";
import { createNotificationsService } from "./notifications/index.js";
import { createStacksService } from "./stacks/index.js";
import type { Config, ServiceName } from "./_shared/config.js";
import { createDb, type Db } from "./_shared/db.js";
import { startIntegrationPublisher, type IntegrationPublisher } from "./_shared/integration-events.js";
import { startMetricsServer, type MetricsServer } from "./_shared/metrics-server.js";

export interface ServiceDeps {
  config: Config;
  db: Db;
}

export const SERVICE_FACTORIES: Record<ServiceName, (deps: ServiceDeps) => ServiceSchema> = {
  api: createApiService,
  auth: createAuthService,
  audit: createAuditService,
  clusters: createClustersService,
  deployments: createDeploymentsService,
  "deploy-worker": createDeployWorkerService,
  stacks: createStacksService,
  notifications: createNotificationsService,
  alerts: createAlertsService,
  ingress: createIngressService,
};

export interface RunningPlatform {
  broker: ServiceBroker;
  db: Db;
  /** The Prometheus listener's port, when METRICS_LISTEN is set. */
  metricsPort: number | undefined;
  stop(): Promise<void>;
}

/** Starts the services named in config.services in this process (all of them for `make dev`). */
export async function startServices(config: Config): Promise<RunningPlatform> {
  const db = createDb(config.database.url, config.database.poolMax);
  const broker = new ServiceBroker(createBrokerOptions(config));
  for (const name of config.services) broker.createService(SERVICE_FACTORIES[name]({ config, db }));
  let metrics: MetricsServer | undefined;
  let integrationEvents: IntegrationPublisher | undefined;
  try {
    // Before the services: whatever they change from their start on is published to the integration subjects.
    integrationEvents = await startIntegrationPublisher(config.nats);
    await broker.start();
    if (config.metrics) {
      const { host, port } = config.metrics;
      metrics = await startMetricsServer(config.metrics).catch((err: NodeJS.ErrnoException) => {
        throw new Error(
          `METRICS_LISTEN ${host}:${port}: ${err.code === "EADDRINUSE" ? "address in use" : err.message}`,
        );
      });
    }
  } catch (err) {
    await broker.stop().catch(() => undefined);
    await integrationEvents?.stop();
    await db.destroy();
    throw err;
  }
  return {
    broker,
    db,
    metricsPort: metrics?.port,
    async stop() {
      await metrics?.close();
      await broker.stop();
      await integrationEvents?.stop();
      await db.destroy();
    },
  };
}

/**
 * The control plane's publisher of integration events: the documented per-org events of openapi/asyncapi.yaml on
 * `stackyard.<orgId>.…` (subjects in nats/protocol/integration-subjects.ts), which integration credentials may
 * subscribe to. Core NATS, at most once, published after the change committed: an integration that must not miss
 * anything reconciles through the REST API after a reconnect.
 *
 * Each process opens one publishing connection (`startIntegrationPublisher`, from services/registry.ts) and every
 * domain publishes through `publishIntegrationEvent`, whatever service runs in that process; with none started
 * (unit tests, tools) events go nowhere.
 */
import { randomUUID } from "node:crypto";
import type { NatsConnection } from "nats";
import type { Config } from "./config.js";
import { connectNats } from "./nats.js";

/** The envelope every integration event has (schema `EventEnvelope` in openapi/asyncapi.yaml). */
export interface IntegrationEnvelope<T = Record<string, unknown>> {
  specversion: "1";
  id: string;
  type: string;
  orgId: string;
  time: string;
  data: T;
}

export type IntegrationSink = (subject: string, payload: Uint8Array) => void;

const sinks: IntegrationSink[] = [];
const encoder = new TextEncoder();

/** Adds a sink (the first one installed receives the events); returns its removal. */
export function installIntegrationSink(sink: IntegrationSink): () => void {
  sinks.push(sink);
  return () => {
    const i = sinks.indexOf(sink);
    if (i >= 0) sinks.splice(i, 1);
  };
}

export function integrationEnvelope<T>(orgId: string, type: string, data: T): IntegrationEnvelope<T> {
  return { specversion: "1", id: randomUUID(), type, orgId, time: new Date().toISOString(), data };
}

/** Fire and forget: a failed publish (connection down) never fails the change that caused it. */
export function publishIntegrationEvent<T>(subject: string, envelope: IntegrationEnvelope<T>): void {
  const sink = sinks[0];
  if (!sink) return;
  try {
    sink(subject, encoder.encode(JSON.stringify(envelope)));
  } catch {
    // A closed or draining connection: the event is lost, as core NATS would lose it with no subscriber.
  }
}

export interface IntegrationPublisher {
  stop(): Promise<void>;
}

/** Opens this process's publishing connection (control-plane user) and installs it as the sink. */
export async function startIntegrationPublisher(
  nats: Pick<Config["nats"], "urls" | "tlsCaFile" | "credsFile">,
): Promise<IntegrationPublisher> {
  const nc: NatsConnection = await connectNats(nats, nats.credsFile, "stackyard-integration-events");
  const remove = installIntegrationSink((subject, payload) => nc.publish(subject, payload));
  return {
    async stop() {
      remove();
      await nc.drain().catch(() => undefined);
    },
  };
}

/**
 * ApplyIngress (control plane → agent): bring the cluster's reverse proxy to one rendered state. The agent makes
 * sure the overlay network exists (attachable, so environments' stacks join it as an external network), creates the
 * versioned Swarm config holding the nginx configuration and one Swarm secret per certificate (names derived from
 * the content, never reused), then creates or updates the proxy service: one replica, `start-first` updates, a
 * healthcheck so the routing mesh sends traffic to a new task only once nginx listens, and SIGQUIT (nginx's
 * graceful stop) for the old one, so a configuration change drops no connection. Answers once the rollout has
 * completed; configs and secrets of this proxy no longer used are removed then.
 */
import type { JSONSchemaType } from "ajv";
import { count, nonEmpty, sealedValue, token, type SealedValue } from "../schema.js";
import type { CommandSpec } from "./spec.js";

/** Swarm object names: what the agent creates is named by the control plane, within Swarm's rules. */
export const INGRESS_OBJECT_NAME_PATTERN = "^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$";
const objectName: JSONSchemaType<string> = { type: "string", pattern: INGRESS_OBJECT_NAME_PATTERN };
/** nginx.conf: routes and challenge answers only, so it stays small. */
export const MAX_INGRESS_CONFIG_CHARS = 400 * 1024;
const port: JSONSchemaType<number> = { type: "integer", minimum: 1, maximum: 65535 };

export interface IngressCertificatePayload {
  /** The Swarm secret's name (content-derived). */
  secret: string;
  /** The file under /run/secrets/ the nginx configuration names. */
  target: string;
  /**
   * The PEM private key followed by the certificate chain, sealed to the agent's key (kind `secret`, name
   * `secret`, the apply id in place of a deployment id).
   */
  sealed: SealedValue;
}
const certificatePayload: JSONSchemaType<IngressCertificatePayload> = {
  type: "object",
  additionalProperties: false,
  required: ["secret", "target", "sealed"],
  properties: { secret: objectName, target: objectName, sealed: sealedValue },
};

export interface ApplyIngress {
  /** This apply's id: binds the sealed values to it. */
  applyId: string;
  /** The proxy's Swarm service. */
  serviceName: string;
  /** The overlay network the proxy and the routed services share. */
  networkName: string;
  image: string;
  ports: { http: number; https: number };
  /** The versioned Swarm config holding nginx.conf (its name changes with its content). */
  config: { name: string; data: string };
  certificates: IngressCertificatePayload[];
  /** Seconds the agent waits for the rollout to complete. */
  timeoutSeconds: number;
}
const applyIngress: JSONSchemaType<ApplyIngress> = {
  type: "object",
  additionalProperties: false,
  required: ["applyId", "serviceName", "networkName", "image", "ports", "config", "certificates", "timeoutSeconds"],
  properties: {
    applyId: token,
    serviceName: objectName,
    networkName: objectName,
    image: nonEmpty(1024),
    ports: {
      type: "object",
      additionalProperties: false,
      required: ["http", "https"],
      properties: { http: port, https: port },
    },
    config: {
      type: "object",
      additionalProperties: false,
      required: ["name", "data"],
      properties: { name: objectName, data: nonEmpty(MAX_INGRESS_CONFIG_CHARS) },
    },
    certificates: { type: "array", maxItems: 500, items: certificatePayload },
    timeoutSeconds: { type: "integer", minimum: 1, maximum: 600 },
  },
};

export interface ApplyIngressResult {
  /** The Swarm service id. */
  serviceId: string;
  /** True when the service was created by this apply (false: updated, or already in this state). */
  created: boolean;
  /** False when the service already ran this config and these certificates: nothing was rolled out. */
  changed: boolean;
  configName: string;
  /** Configs and secrets of this proxy removed because no task uses them any more. */
  removed: number;
}
const applyIngressResult: JSONSchemaType<ApplyIngressResult> = {
  type: "object",
  additionalProperties: false,
  required: ["serviceId", "created", "changed", "configName", "removed"],
  properties: {
    serviceId: nonEmpty(255),
    created: { type: "boolean" },
    changed: { type: "boolean" },
    configName: objectName,
    removed: count,
  },
};

export const ApplyIngressCommand: CommandSpec<ApplyIngress, ApplyIngressResult, "ApplyIngressResult"> = {
  resultName: "ApplyIngressResult",
  payload: applyIngress,
  result: applyIngressResult,
  errorCodes: ["INGRESS_APPLY_FAILED", "INGRESS_ROLLOUT_FAILED", "INGRESS_ROLLOUT_TIMED_OUT", "INGRESS_NOT_OWNED"],
  example: {
    payload: {
      applyId: "4f1c2f0e-7a39-4f38-9d0e-2d1c8a0b6e51",
      serviceName: "stackyard-ingress",
      networkName: "stackyard-ingress",
      image: "nginx",
      ports: { http: 80, https: 443 },
      config: { name: "stackyard-ingress-3-0a1b2c3d4e5f", data: "events {}\nhttp {}\n" },
      certificates: [],
      timeoutSeconds: 60,
    },
    result: {
      serviceId: "k2j3h4g5f6d7s8a9",
      created: false,
      changed: true,
      configName: "stackyard-ingress-3-0a1b2c3d4e5f",
      removed: 1,
    },
  },
};

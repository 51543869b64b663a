/**
 * ApplyIngress: open the certificates' sealed keys (a value that does not open refuses the command before anything
 * changes), then bring the proxy to the commanded state and answer once its rollout completed.
 */
import type { ApplyIngressResult } from "../../../nats/protocol/commands/index.js";
import { SealError, open, type SealKeyPair } from "../../../nats/protocol/sealing.js";
import type { CommandHandler } from "../commands.js";
import { SealKeyMissingError } from "../deploy/unseal.js";
import { DockerEngineError } from "../docker/dockerode-engine.js";
import type { IngressFailure, SwarmIngressApplier } from "../docker/engine.js";
import { IngressApplyError } from "../docker/ingress.js";
import { AgentStoppingError, HandlerError, type HandlerErrorCode } from "./errors.js";

const FAILURE_CODES: Record<IngressFailure, HandlerErrorCode> = {
  not_owned: "INGRESS_NOT_OWNED",
  rollout_failed: "INGRESS_ROLLOUT_FAILED",
  rollout_timed_out: "INGRESS_ROLLOUT_TIMED_OUT",
};

export function createApplyIngressHandler(
  applier: SwarmIngressApplier,
  opts: { clusterId: string; sealKeys: SealKeyPair | null },
): CommandHandler<"ApplyIngress"> {
  return async (payload, ctx): Promise<ApplyIngressResult> => {
    if (ctx.signal.aborted) throw new AgentStoppingError("the ingress was not applied");
    if (payload.certificates.length > 0 && !opts.sealKeys) throw new SealKeyMissingError();
    const secrets = payload.certificates.map((c) => {
      try {
        const value = open(c.sealed, opts.sealKeys!, {
          clusterId: opts.clusterId,
          deploymentId: payload.applyId,
          kind: "secret",
          name: c.secret,
        });
        return { name: c.secret, target: c.target, value };
      } catch (err) {
        if (err instanceof SealError) throw new HandlerError(err.code, err.message);
        throw err;
      }
    });
    try {
      const result = await applier.applyIngress(
        {
          clusterId: opts.clusterId,
          serviceName: payload.serviceName,
          networkName: payload.networkName,
          image: payload.image,
          ports: payload.ports,
          config: payload.config,
          secrets,
          timeoutMs: payload.timeoutSeconds * 1000,
        },
        ctx.signal,
      );
      ctx.log.info("ingress applied", {
        service: payload.serviceName,
        config: payload.config.name,
        created: result.created,
        changed: result.changed,
      });
      return { ...result, configName: payload.config.name };
    } catch (err) {
      if (err instanceof IngressApplyError) throw new HandlerError(FAILURE_CODES[err.failure], err.message);
      if (err instanceof DockerEngineError && err.code !== "DOCKER_UNAVAILABLE") {
        throw new HandlerError("INGRESS_APPLY_FAILED", `the ingress was not applied: ${err.message}`, { cause: err });
      }
      throw err;
    }
  };
}

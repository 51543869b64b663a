import type { JSONSchemaType } from "ajv";

/**
 * Everything the protocol knows about one command: its payload and result schemas (each typed against its
 * interface, so the compiler rejects drift), the name its result goes by, the stable codes its handler may refuse
 * with, and one valid example of each. The registries in index.ts are derived from these.
 */
export interface CommandSpec<P, R, N extends string> {
  resultName: N;
  payload: JSONSchemaType<P>;
  result: JSONSchemaType<R>;
  /** Codes the agent's handler may answer with, beyond the envelope and protocol rejections. */
  errorCodes: readonly string[];
  example: { payload: P; result: R };
}

// Read from `example`, which carries the plain types (inferring through JSONSchemaType does not work).
export type PayloadOf<S> = S extends { example: { payload: infer P } } ? P : never;
export type ResultOf<S> = S extends { example: { result: infer R } } ? R : never;

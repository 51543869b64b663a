/**
 * What a REST action receives, typed from openapi/openapi.gen.ts (generated from openapi.yaml), so no action
 * writes its parameter types by hand: `OpCtx<"createDeployment">` is the context of that operation's action.
 * The gateway validates `body`, `query` and `params` against the same spec before the call.
 */
import type { operations } from "../../openapi/openapi.gen.js";
import type { CallContext } from "./principal.js";

/** What the gateway passes to every REST action. */
export interface RestParams<B = unknown, Q = Record<string, unknown>, P = Record<string, string>> {
  body: B;
  query: Q;
  params: P;
}

export type OperationId = keyof operations;

type Operation<K extends OperationId> = operations[K];
type Json<T> = T extends { content: { "application/json": infer B } } ? B : undefined;
/** The JSON request body; `undefined` when the operation has none (or it is optional and absent). */
export type OpBody<K extends OperationId> =
  Operation<K> extends { requestBody: infer R }
    ? Json<R>
    : Operation<K> extends { requestBody?: infer R }
      ? Json<NonNullable<R>> | undefined
      : undefined;
type In<K extends OperationId, W extends "query" | "path"> = [NonNullable<Operation<K>["parameters"][W]>] extends [
  never,
]
  ? Record<string, never>
  : NonNullable<Operation<K>["parameters"][W]>;
export type OpQuery<K extends OperationId> = In<K, "query">;
export type OpPath<K extends OperationId> = In<K, "path">;

export type OpParams<K extends OperationId> = RestParams<OpBody<K>, OpQuery<K>, OpPath<K>>;
/** The typed context of the action serving operation `K`. */
export type OpCtx<K extends OperationId> = CallContext<OpParams<K>>;

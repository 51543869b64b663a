/**
 * Errors with a stable machine-readable code and an HTTP status. They extend MoleculerError so code,
 * status and details survive the trip over NATS; callers match `type` (the code), never messages.
 * Whatever is in `details` reaches the client: never put stderr, stack traces or secrets there.
 */
import type { components } from "../../openapi/openapi.gen.js";
import { Errors } from "moleculer";

export type ErrorDetails = Record<string, unknown> | unknown[] | undefined;

export class AppError extends Errors.MoleculerError {
  constructor(status: number, code: string, message: string, details?: ErrorDetails, options?: { cause?: unknown }) {
    super(message, status, code, details);
    this.name = new.target.name;
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

export class BadRequestError extends AppError {
  constructor(code: string, message: string, details?: ErrorDetails) {
    super(400, code, message, details);
  }
}
export class UnauthorizedError extends AppError {
  constructor(code: string, message: string, details?: ErrorDetails) {
    super(401, code, message, details);
  }
}
export class ForbiddenError extends AppError {
  constructor(code: string, message: string, details?: ErrorDetails) {
    super(403, code, message, details);
  }
}
export class NotFoundError extends AppError {
  constructor(code: string, message: string, details?: ErrorDetails) {
    super(404, code, message, details);
  }
}
export class ConflictError extends AppError {
  constructor(code: string, message: string, details?: ErrorDetails) {
    super(409, code, message, details);
  }
}
export class PayloadTooLargeError extends AppError {
  constructor(code: string, message: string, details?: ErrorDetails) {
    super(413, code, message, details);
  }
}
export class UnprocessableError extends AppError {
  constructor(code: string, message: string, details?: ErrorDetails) {
    super(422, code, message, details);
  }
}
export class TooManyRequestsError extends AppError {
  constructor(
    code: string,
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(429, code, message, { retryAfterSeconds });
  }
}
export class ServiceUnavailableError extends AppError {
  constructor(code: string, message: string, details?: ErrorDetails) {
    super(503, code, message, details);
  }
}

/** The one JSON error shape of the REST API (openapi.yaml's Error). */
export type ErrorBody = components["schemas"]["Error"];

/** Maps anything thrown (local or deserialised from another node) to a status and the public body. */
export function toErrorResponse(err: unknown): { status: number; body: ErrorBody } {
  const e = err as { code?: unknown; type?: unknown; message?: unknown; data?: unknown; name?: unknown };
  const status = typeof e.code === "number" && e.code >= 400 && e.code <= 599 ? e.code : 500;
  // Deliberate upstream errors (502 agent refused, 503 unavailable, 504) keep their code; anything else that is
  // 5xx is a bug whose message must not leak.
  const deliberate =
    (status === 502 || status === 503 || status === 504) && typeof e.type === "string" && e.type !== "";
  if (status >= 500 && !deliberate) {
    return { status, body: { error: { code: "INTERNAL", message: "internal error" } } };
  }
  const code = typeof e.type === "string" && e.type ? e.type : httpDefaultCode(status);
  const message = typeof e.message === "string" ? e.message : "request failed";
  const body: ErrorBody = { error: { code, message } };
  if (e.data !== undefined && e.data !== null) body.error.details = e.data;
  return { status, body };
}

function httpDefaultCode(status: number): string {
  const codes: Record<number, string> = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "UNPROCESSABLE",
    429: "TOO_MANY_REQUESTS",
    503: "SERVICE_UNAVAILABLE",
  };
  return codes[status] ?? "ERROR";
}

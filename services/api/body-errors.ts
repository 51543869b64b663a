/**
 * The JSON body parser (body-parser, inside moleculer-web) fails with its own lowercase types
 * (`entity.parse.failed`, `entity.too.large`, …). Clients match our stable codes, so each becomes a typed error.
 */
import { AppError, BadRequestError, PayloadTooLargeError } from "../_shared/errors.js";

export function bodyParserError(err: unknown, bodyLimitBytes: number): AppError | null {
  const type = (err as { type?: unknown } | null)?.type;
  switch (type) {
    case "entity.parse.failed":
      return new BadRequestError("MALFORMED_JSON", "the request body is not valid JSON (strict: an object or array)");
    case "entity.too.large":
      return new PayloadTooLargeError("BODY_TOO_LARGE", `the request body is larger than ${bodyLimitBytes} bytes`, {
        limitBytes: bodyLimitBytes,
      });
    case "encoding.unsupported":
      return new AppError(415, "UNSUPPORTED_CONTENT_ENCODING", "the request body's Content-Encoding is not supported");
    case "charset.unsupported":
      return new AppError(415, "UNSUPPORTED_CHARSET", "the request body must be UTF-8 JSON");
    case "request.aborted":
      return new BadRequestError("REQUEST_ABORTED", "the request body ended early");
    case "request.size.invalid":
      return new BadRequestError("BODY_SIZE_MISMATCH", "the request body does not match its Content-Length");
    case "stream.not.readable":
    case "stream.encoding.set":
      return new BadRequestError("BODY_UNREADABLE", "the request body could not be read");
    default:
      return null;
  }
}

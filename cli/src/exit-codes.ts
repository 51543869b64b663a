/**
 * The CLI's exit codes, documented in docs/cli.md. A pipeline branches on them: `deploy --wait` ends 0, 1 or 2 with
 * the deployment's own outcome; the others say why the CLI itself could not finish.
 */
export const EXIT = {
  OK: 0,
  /** The deployment ended FAILED. */
  DEPLOYMENT_FAILED: 1,
  /** The deployment ended CANCELED. */
  DEPLOYMENT_CANCELED: 2,
  /** `--timeout` passed before the deployment ended (it goes on; nothing was cancelled). */
  WAIT_TIMED_OUT: 3,
  /** The API refused the request (4xx): the error code and message are printed. */
  API_REFUSED: 4,
  /** The API could not be reached, or failed (5xx). */
  API_UNAVAILABLE: 5,
  /** Not logged in, or the credential is no longer valid. */
  NOT_AUTHENTICATED: 6,
  /** Bad command line (unknown command, missing or malformed argument). */
  USAGE: 64,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports as one line and ends with `code`. */
export class CliError extends Error {
  override readonly name = "CliError";

  constructor(
    readonly code: ExitCode,
    message: string,
  ) {
    super(message);
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(EXIT.USAGE, message);
  }
}

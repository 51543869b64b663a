/** Why a build failed, with the stable code its terminal event carries (`data.code`). */
export type BuildErrorCode =
  "GIT_FETCH_FAILED" | "GIT_AUTH_FAILED" | "BUILD_CONTEXT_MISSING" | "BUILD_FAILED" | "PUSH_FAILED" | "BUILD_TIMED_OUT";

export class BuildError extends Error {
  override name = "BuildError";
  constructor(
    readonly code: BuildErrorCode,
    message: string,
    /** What the terminal event says about the failure beyond the headline: service, step, the output's last lines. */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

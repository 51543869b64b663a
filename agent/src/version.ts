/** Reported at registration and in every heartbeat; kept equal to package.json's version (checked by a test). */
export const AGENT_VERSION = "0.1.0";

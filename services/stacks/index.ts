/** stacks: what other domains may use (deployments renders and deploys what stacks holds). */
export { renderDesiredState } from "./render.js";
export { loadSecretValues, putSecret } from "./secrets-repo.js";
export { findEnvironment, findStack } from "./stacks.logic.js";
export { createStacksService } from "./stacks.service.js";

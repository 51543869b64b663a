/** api: the gateway, on top of every domain. */
export { createApiService } from "./api.service.js";

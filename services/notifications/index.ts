/** notifications: what other parts may use (the service, the key rotation, and alert deliveries). */
export { createNotificationsService } from "./notifications.service.js";
export { rotateNotificationSecrets, verifyNotificationKeys } from "./endpoints.logic.js";
export { queueAlertDeliveries } from "./deliveries.repo.js";
export { nextAttemptAt } from "./retry.js";

/** notifications: what other parts may use (the service and the key rotation; nothing reaches the queue). */
export { createNotificationsService } from "./notifications.service.js";
export { rotateNotificationSecrets, verifyNotificationKeys } from "./endpoints.logic.js";

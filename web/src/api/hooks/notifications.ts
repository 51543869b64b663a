import useSWR, { type SWRResponse } from "swr";
import type { ApiError } from "../client.js";
import { keys } from "../keys.js";
import type {
  CreatedNotificationEndpoint,
  ListOf,
  NotificationDelivery,
  NotificationEndpoint,
  NotificationEndpointInput,
} from "../types.js";
import { useApiMutation, type Mutation } from "./mutation.js";

export function useNotificationEndpoints(orgId: string): SWRResponse<ListOf<NotificationEndpoint>, ApiError> {
  return useSWR<ListOf<NotificationEndpoint>, ApiError>(keys.notificationEndpoints(orgId));
}

/** The delivery log of one endpoint; refreshed every few seconds while shown (retries land on their own). */
export function useNotificationDeliveries(
  orgId: string,
  endpointId: string | null,
): SWRResponse<ListOf<NotificationDelivery>, ApiError> {
  return useSWR<ListOf<NotificationDelivery>, ApiError>(
    endpointId ? keys.notificationDeliveries(orgId, endpointId) : null,
    { refreshInterval: 5_000 },
  );
}

export function useCreateNotificationEndpoint(
  orgId: string,
): Mutation<NotificationEndpointInput, CreatedNotificationEndpoint> {
  return useApiMutation(keys.notificationEndpoints(orgId), (client, arg: NotificationEndpointInput) =>
    client.post<CreatedNotificationEndpoint>(keys.notificationEndpoints(orgId)[0], arg),
  );
}

export function useUpdateNotificationEndpoint(
  orgId: string,
): Mutation<{ id: string; enabled: boolean }, NotificationEndpoint> {
  return useApiMutation(keys.notificationEndpoints(orgId), (client, arg: { id: string; enabled: boolean }) =>
    client.patch<NotificationEndpoint>(keys.notificationEndpoint(orgId, arg.id)[0], { enabled: arg.enabled }),
  );
}

/** Resolves `true` once removed (the API answers 204 with no body), undefined after an error. */
export function useDeleteNotificationEndpoint(orgId: string): Mutation<string, true> {
  return useApiMutation(keys.notificationEndpoints(orgId), (client, id: string) =>
    client.delete<void>(keys.notificationEndpoint(orgId, id)[0]).then(() => true as const),
  );
}

/** Queues a test event for the endpoint whose id is the argument. */
export function useTestNotificationEndpoint(orgId: string): Mutation<string, NotificationDelivery> {
  return useApiMutation(keys.notificationEndpoints(orgId), (client, endpointId: string) =>
    client.post<NotificationDelivery>(`${keys.notificationEndpoint(orgId, endpointId)[0]}/test`),
  );
}

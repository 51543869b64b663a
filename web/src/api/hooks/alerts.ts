import useSWR, { type SWRResponse } from "swr";
import type { ApiError } from "../client.js";
import { keys } from "../keys.js";
import type { Alert, AlertRule, ListOf } from "../types.js";
import { useApiMutation, type Mutation } from "./mutation.js";

/** The alert history, newest first; refreshed every few seconds while shown (alerts fire and resolve on their own). */
export function useAlerts(orgId: string): SWRResponse<ListOf<Alert>, ApiError> {
  return useSWR<ListOf<Alert>, ApiError>(keys.alerts(orgId), { refreshInterval: 5_000 });
}

export function useAlertRules(orgId: string): SWRResponse<ListOf<AlertRule>, ApiError> {
  return useSWR<ListOf<AlertRule>, ApiError>(keys.alertRules(orgId));
}

export function useAcknowledgeAlert(orgId: string): Mutation<string, Alert> {
  return useApiMutation(keys.alerts(orgId), (client, alertId: string) =>
    client.post<Alert>(`${keys.alert(orgId, alertId)[0]}/acknowledge`),
  );
}

export function useSilenceAlert(orgId: string): Mutation<{ id: string; until: string }, Alert> {
  return useApiMutation(keys.alerts(orgId), (client, arg: { id: string; until: string }) =>
    client.post<Alert>(`${keys.alert(orgId, arg.id)[0]}/silence`, { until: arg.until }),
  );
}

/** Preview environments per pull request: a stack's previews, its preview settings, destroy. */
import useSWR, { type SWRResponse } from "swr";
import type { ApiError } from "../client.js";
import { actions, keys } from "../keys.js";
import type { Preview, PreviewList, PreviewSettings, PreviewSettingsInput, SyncSource } from "../types.js";
import { useApiMutation, type Mutation } from "./mutation.js";

/** Refreshed every few seconds: webhooks change previews without anyone on the page doing anything. */
export const PREVIEWS_REFRESH_MS = 5_000;

export function usePreviews(stackId: string): SWRResponse<PreviewList, ApiError> {
  return useSWR<PreviewList, ApiError>(keys.previews(stackId), { refreshInterval: PREVIEWS_REFRESH_MS });
}

/** 404 PREVIEW_SETTINGS_NOT_FOUND means "not set up", which the view shows as such. */
export function usePreviewSettings(stackId: string): SWRResponse<PreviewSettings, ApiError> {
  return useSWR<PreviewSettings, ApiError>(keys.previewSettings(stackId), { shouldRetryOnError: false });
}

export function useSyncSources(stackId: string | null): SWRResponse<{ items: SyncSource[] }, ApiError> {
  return useSWR<{ items: SyncSource[] }, ApiError>(stackId ? keys.syncSources(stackId) : null);
}

export function useSavePreviewSettings(stackId: string): Mutation<PreviewSettingsInput, PreviewSettings> {
  return useApiMutation(keys.previewSettings(stackId), (client, input: PreviewSettingsInput) =>
    client.put<PreviewSettings>(keys.previewSettings(stackId)[0], input),
  );
}

export function useDestroyPreview(stackId: string): Mutation<string, Preview> {
  return useApiMutation(keys.previews(stackId), (client, previewId: string) =>
    client.delete<Preview>(actions.preview(previewId)),
  );
}

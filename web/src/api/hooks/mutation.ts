import useSWRMutation, { type SWRMutationResponse } from "swr/mutation";
import { useSWRConfig } from "swr";
import type { ApiClient } from "../client.js";
import type { ApiError } from "../client.js";
import type { ApiKey } from "../keys.js";
import { useApiClient } from "./context.js";

export type Mutation<Arg, Out> = SWRMutationResponse<Out, ApiError, ApiKey, Arg>;

/**
 * A write call bound to the list it changes: `key` is revalidated after success, and so is every key in `also`.
 * `trigger` resolves to undefined on failure; the failure is in `error` for the view to show.
 */
export function useApiMutation<Arg, Out>(
  key: ApiKey,
  run: (client: ApiClient, arg: Arg) => Promise<Out>,
  also: readonly ApiKey[] = [],
): Mutation<Arg, Out> {
  const client = useApiClient();
  const { mutate } = useSWRConfig();
  return useSWRMutation<Out, ApiError, ApiKey, Arg>(key, (_key: ApiKey, { arg }: { arg: Arg }) => run(client, arg), {
    throwOnError: false,
    onSuccess: () => {
      for (const k of also) void mutate(k);
    },
  });
}

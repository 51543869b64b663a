import { createContext, useContext, useMemo, type ReactNode } from "react";
import { SWRConfig, type SWRConfiguration } from "swr";
import { ApiError, type ApiClient } from "../client.js";
import type { ApiKey } from "../keys.js";

const ApiClientContext = createContext<ApiClient | null>(null);

export function useApiClient(): ApiClient {
  const client = useContext(ApiClientContext);
  if (!client) throw new Error("useApiClient outside <ApiProvider>");
  return client;
}

/** Errors that another try cannot fix: SWR should not retry them on its own. */
const isPermanent = (e: unknown): boolean => e instanceof ApiError && e.status >= 400 && e.status < 500;

export function ApiProvider(props: { client: ApiClient; swr?: SWRConfiguration; children: ReactNode }) {
  const { client, swr } = props;
  const config = useMemo<SWRConfiguration>(
    () => ({
      fetcher: ([path, query]: ApiKey) => client.get(path, query),
      onErrorRetry: (error, _key, _config, revalidate, { retryCount }) => {
        if (isPermanent(error) || retryCount >= 3) return;
        setTimeout(() => void revalidate({ retryCount }), 2_000 * 2 ** retryCount);
      },
      ...swr,
    }),
    [client, swr],
  );
  return (
    <ApiClientContext.Provider value={client}>
      <SWRConfig value={config}>{props.children}</SWRConfig>
    </ApiClientContext.Provider>
  );
}

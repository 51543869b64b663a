import { render, type RenderResult } from "@testing-library/react";
import type { ReactElement } from "react";
import { MemoryRouter, useLocation } from "react-router-dom";
import { App } from "../src/app/App.js";
import type { ApiClient } from "../src/api/client.js";

/** The whole app at `path`, with a fresh SWR cache (no dedup or retries across tests). */
export function renderApp(client: ApiClient, path: string): RenderResult & { location: () => string } {
  let current = path;
  function LocationSpy() {
    const l = useLocation();
    current = l.pathname + l.search;
    return null;
  }
  const result = render(
    <MemoryRouter initialEntries={[path]}>
      <LocationSpy />
      <App
        client={client}
        live={false}
        swr={{ provider: () => new Map(), dedupingInterval: 0, shouldRetryOnError: false }}
      />
    </MemoryRouter>,
  );
  return Object.assign(result, { location: () => current });
}

export function renderInRouter(ui: ReactElement): RenderResult {
  return render(<MemoryRouter>{ui}</MemoryRouter>);
}

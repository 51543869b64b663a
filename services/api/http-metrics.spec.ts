import { expect } from "chai";
import { buildRouteTable } from "./routes.js";
import { loadOpenApi } from "../_shared/openapi.js";
import { routeLabeller } from "./http-metrics.js";

describe("http metrics route labels", () => {
  const label = routeLabeller(buildRouteTable(loadOpenApi()));
  const id = "0b7a3c52-8f0e-4d1c-9a55-2b1e6f7d9c10";

  it("labels a request with its openapi.yaml template, never its ids or query", () => {
    expect(label("GET", `/v1/environments/${id}?x=1`)).to.equal("/v1/environments/{envId}");
    expect(label("POST", `/v1/environments/${id}/deployments`)).to.equal("/v1/environments/{envId}/deployments");
  });

  it("labels the gateway's own paths, unknown API paths and the UI with fixed values", () => {
    expect(label("GET", "/healthz")).to.equal("/healthz");
    expect(label("GET", "/v1/no/such/thing/" + id)).to.equal("(unmatched)");
    expect(label("GET", `/environments/${id}`)).to.equal("(ui)");
  });

  it("leaves event streams out (they are counted as open streams instead)", () => {
    expect(label("GET", `/v1/deployments/${id}/events`)).to.equal(null);
  });
});

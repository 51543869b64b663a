import { expect } from "chai";
import { configName, renderNginxConfig } from "./nginx-config.js";
import { renderDesiredState } from "../stacks/index.js";

const INGRESS_ROUTES_LABEL = "io.stackyard.ingress.routes";

describe("ingress nginx.conf", () => {
  const input = {
    clusterId: "c1",
    revision: 3,
    routes: [
      { host: "app.test", pathPrefix: "/", upstream: "web-prod_app", port: 8080, tls: true },
      { host: "app.test", pathPrefix: "/api", upstream: "web-prod_api", port: 9000, tls: true },
    ],
    certificates: [{ host: "app.test", target: "px-tls-0123.pem" }],
    challenges: [{ host: "app.test", token: "tok_1", keyAuthorization: "tok_1.thumb" }],
  };

  it("routes each host and prefix to the service's tasks, serves certificates and challenges", () => {
    const text = renderNginxConfig(input);
    expect(text).to.contain('set $stackyard_upstream "tasks.web-prod_api:9000";');
    expect(text).to.contain("location /api {");
    expect(text).to.contain("ssl_certificate /run/secrets/px-tls-0123.pem;");
    expect(text).to.contain(
      'location = /.well-known/acme-challenge/tok_1 { default_type text/plain; return 200 "tok_1.thumb"; }',
    );
    expect(text).to.contain("add_header X-Stackyard-Ingress-Revision 3 always;");
  });

  it("serves no HTTPS server for a host without a certificate", () => {
    const text = renderNginxConfig({ ...input, certificates: [] });
    expect(text).not.to.contain("ssl_certificate ");
  });

  it("names configs by revision and content", () => {
    const a = configName("px", 1, "a");
    expect(a).to.match(/^px-1-[0-9a-f]{12}$/);
    expect(configName("px", 1, "b")).not.to.equal(a);
    expect(renderNginxConfig(input)).to.equal(renderNginxConfig(structuredClone(input)));
  });

  it("joins routed services to the proxy's network and labels them with their routes", () => {
    const rendered = renderDesiredState({
      swarmStack: "web-prod",
      ownership: { orgId: "o", environmentId: "e", releaseId: "r" },
      releaseCompose: "services:\n  app:\n    image: busybox\n  db:\n    image: postgres\n",
      overlay: { envJson: {}, composePatchYaml: "" },
      secrets: [],
      ingress: {
        network: "stackyard-ingress",
        routes: [{ host: "app.test", pathPrefix: "/", service: "app", port: 8080 }],
      },
    });
    const services = rendered.document.services as Record<string, Record<string, unknown>>;
    expect(services.app!.networks).to.deep.equal(["default", "stackyard-ingress"]);
    expect((services.app!.deploy as { labels: Record<string, string> }).labels[INGRESS_ROUTES_LABEL]).to.equal(
      "app.test/ -> 8080",
    );
    expect(services.db!.networks).to.equal(undefined);
    expect((rendered.document.networks as Record<string, unknown>)["stackyard-ingress"]).to.deep.equal({
      external: true,
      name: "stackyard-ingress",
    });
  });
});

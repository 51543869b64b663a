import { expect } from "chai";
import { integrationEnvelope } from "../_shared/integration-events.js";
import { checkEndpointUrl, parseEndpointUrl } from "./host-check.js";
import { payloadOf, slackText } from "./payloads.js";
import { MAX_RETRY_DELAY_MS, nextAttemptAt, retryDelayMs } from "./retry.js";
import { newSigningSecret, signatureOf, verifySignature } from "./signature.js";

const ORG = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b";
const noPolicy = { blockPrivateNetworks: true, testAllowedHosts: new Set<string>() };

describe("notifications (unit)", () => {
  describe("signature", () => {
    it("signs `<timestamp>.<body>` with HMAC-SHA256 and verifies in constant time", () => {
      const secret = newSigningSecret();
      const sig = signatureOf(secret, 1_700_000_000, '{"a":1}');
      expect(sig).to.match(/^sha256=[0-9a-f]{64}$/);
      expect(verifySignature(secret, 1_700_000_000, '{"a":1}', sig)).to.equal(true);
      expect(verifySignature(secret, 1_700_000_001, '{"a":1}', sig)).to.equal(false);
      expect(verifySignature(secret, 1_700_000_000, '{"a":2}', sig)).to.equal(false);
      expect(verifySignature(secret, 1_700_000_000, '{"a":1}', "sha256=short")).to.equal(false);
      expect(newSigningSecret()).to.not.equal(secret);
    });
  });

  describe("retry", () => {
    it("doubles from the base with ±20 % jitter, capped at an hour, and stops after the last attempt", () => {
      expect(retryDelayMs(1, 1000, () => 0.5)).to.equal(1000);
      expect(retryDelayMs(3, 1000, () => 0.5)).to.equal(4000);
      expect(retryDelayMs(3, 1000, () => 0)).to.equal(3200);
      expect(retryDelayMs(3, 1000, () => 1)).to.equal(4800);
      expect(retryDelayMs(40, 1000, () => 0.5)).to.equal(MAX_RETRY_DELAY_MS);
      expect(nextAttemptAt(2, 3, 1000, 0, () => 0.5)?.getTime()).to.equal(2000);
      expect(nextAttemptAt(3, 3, 1000, 0)).to.equal(null);
    });
  });

  describe("payloads", () => {
    const failed = integrationEnvelope(ORG, "deployment.failed", {
      environmentId: "e",
      releaseVersion: 4,
      errorMessage: "No such image: shop/web:9",
    });
    it("names the stack, environment, release and cause in the Slack text", () => {
      expect(
        slackText(
          integrationEnvelope(ORG, "deployment.approval_requested", { environmentId: "e", releaseVersion: 4 }),
          {
            stackName: "shop",
            environmentName: "prod",
          },
        ),
      ).to.equal("Approval requested: deployment to shop/prod (release v4)");
      expect(slackText(failed, { stackName: "shop", environmentName: "prod" })).to.equal(
        "Deployment failed: shop/prod (release v4) — No such image: shop/web:9",
      );
      expect(
        slackText(integrationEnvelope(ORG, "cluster.offline", { clusterId: "c" }), { clusterName: "eu-1" }),
      ).to.equal("Cluster eu-1 is offline");
    });
    it("says firing and resolved alerts in one Slack line", () => {
      const data = {
        summary: "shop/prod: service web runs 0 of 2 replicas",
        severity: "critical",
        ruleName: "replicas short",
      };
      expect(slackText(integrationEnvelope(ORG, "alert.firing", data), {})).to.equal(
        "[CRITICAL] Alert firing: shop/prod: service web runs 0 of 2 replicas (rule replicas short)",
      );
      expect(slackText(integrationEnvelope(ORG, "alert.resolved", data), {})).to.equal(
        "Resolved: shop/prod: service web runs 0 of 2 replicas (rule replicas short)",
      );
    });

    it("sends the envelope with its names as JSON, or only the text for Slack", () => {
      expect(JSON.parse(payloadOf("json", failed, { stackName: "shop" }))).to.deep.include({
        type: "deployment.failed",
        names: { stackName: "shop" },
      });
      expect(Object.keys(JSON.parse(payloadOf("slack", failed, {})) as object)).to.deep.equal(["text"]);
    });
  });

  describe("endpoint URLs", () => {
    it("accepts http(s) only, without user info", () => {
      expect(parseEndpointUrl("https://hooks.example.com/x?y=1").host).to.equal("hooks.example.com");
      for (const bad of ["ftp://x/y", "https://u:p@x/y", "x/y", "javascript:alert(1)"]) {
        expect(() => parseEndpointUrl(bad), bad)
          .to.throw()
          .with.property("type", "NOTIFICATION_URL_INVALID");
      }
    });
    it("refuses a host any of whose addresses is forbidden, and pins the checked address", async () => {
      const lookup = (answer: string[]) => async () => answer.map((address) => ({ address, family: 4 }));
      const ok = await checkEndpointUrl("https://hooks.example.com/x", noPolicy, lookup(["93.184.216.34"]));
      expect(ok).to.include({ address: "93.184.216.34", port: 443 });
      const mixed = await checkEndpointUrl(
        "https://rebind.example.com/x",
        noPolicy,
        lookup(["93.184.216.34", "169.254.169.254"]),
      ).catch((e: unknown) => e);
      expect(mixed).to.have.property("type", "NOTIFICATION_HOST_FORBIDDEN");
      const none = await checkEndpointUrl("https://nowhere.invalid/x", noPolicy, lookup([])).catch((e: unknown) => e);
      expect(none).to.have.property("type", "NOTIFICATION_HOST_UNRESOLVABLE");
      const privateOk = await checkEndpointUrl(
        "http://10.0.0.5:8080/x",
        { blockPrivateNetworks: false, testAllowedHosts: new Set() },
        lookup([]),
      );
      expect(privateOk).to.include({ address: "10.0.0.5", port: 8080 });
    });
  });
});

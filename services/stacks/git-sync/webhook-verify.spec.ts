import { createHmac } from "node:crypto";
import { expect } from "chai";
import { verifyWebhook, WebhookSignatureError } from "./webhook-verify.js";

const SECRET = "whsec_test-secret";
const body = Buffer.from('{"ref":"refs/heads/main"}');
const hex = (secret: string, b: Buffer = body) => createHmac("sha256", secret).update(b).digest("hex");

function refused(fn: () => unknown): WebhookSignatureError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(WebhookSignatureError);
    expect((err as WebhookSignatureError).type).to.equal("WEBHOOK_SIGNATURE_INVALID");
    expect((err as WebhookSignatureError).code).to.equal(401);
    return err as WebhookSignatureError;
  }
  throw new Error("expected a refusal");
}

describe("verifyWebhook", () => {
  it("accepts GitHub's X-Hub-Signature-256 and takes X-GitHub-Delivery as the id", () => {
    const d = verifyWebhook(
      { "x-hub-signature-256": `sha256=${hex(SECRET)}`, "x-github-delivery": "abc-1", "x-github-event": "push" },
      body,
      SECRET,
    );
    expect(d).to.deep.equal({ provider: "github", deliveryId: "github:abc-1", ping: false });
  });

  it("recognises GitHub's ping", () => {
    const d = verifyWebhook({ "x-hub-signature-256": `sha256=${hex(SECRET)}`, "x-github-event": "ping" }, body, SECRET);
    expect(d.ping).to.equal(true);
  });

  it("accepts Gitea's bare hex X-Gitea-Signature (preferred over its X-Hub-Signature-256)", () => {
    const d = verifyWebhook(
      { "x-gitea-signature": hex(SECRET), "x-hub-signature-256": "sha256=junk", "x-gitea-delivery": "7" },
      body,
      SECRET,
    );
    expect(d).to.deep.include({ provider: "gitea", deliveryId: "gitea:7" });
  });

  it("accepts GitLab's X-Gitlab-Token and its Idempotency-Key", () => {
    const d = verifyWebhook({ "x-gitlab-token": SECRET, "idempotency-key": "k-1" }, body, SECRET);
    expect(d).to.deep.include({ provider: "gitlab", deliveryId: "gitlab:k-1" });
  });

  it("accepts the generic X-Stackyard-Signature-256", () => {
    const d = verifyWebhook(
      { "x-stackyard-signature-256": `sha256=${hex(SECRET)}`, "x-stackyard-delivery": "d1" },
      body,
      SECRET,
    );
    expect(d).to.deep.include({ provider: "generic", deliveryId: "generic:d1" });
  });

  it("uses the body's sha256 as the id when the forge sends none (or an unusable one)", () => {
    const a = verifyWebhook({ "x-hub-signature-256": `sha256=${hex(SECRET)}` }, body, SECRET);
    const b = verifyWebhook(
      { "x-hub-signature-256": `sha256=${hex(SECRET)}`, "x-github-delivery": "has spaces" },
      body,
      SECRET,
    );
    expect(a.deliveryId).to.match(/^github:sha256:[0-9a-f]{64}$/);
    expect(b.deliveryId).to.equal(a.deliveryId);
  });

  const bad: Array<[string, Record<string, string>]> = [
    ["no signature header", {}],
    ["another secret", { "x-hub-signature-256": `sha256=${hex("other")}` }],
    ["a missing prefix", { "x-hub-signature-256": hex(SECRET) }],
    ["a truncated digest", { "x-hub-signature-256": `sha256=${hex(SECRET).slice(0, 63)}` }],
    ["a digest of another body", { "x-hub-signature-256": `sha256=${hex(SECRET, Buffer.from("{}"))}` }],
    ["a wrong GitLab token", { "x-gitlab-token": `${SECRET}x` }],
    ["an empty GitLab token", { "x-gitlab-token": "" }],
    ["a wrong Gitea signature", { "x-gitea-signature": hex("other") }],
    ["a generic signature without prefix", { "x-stackyard-signature-256": hex(SECRET) }],
  ];
  for (const [name, headers] of bad) {
    it(`refuses ${name} with 401 WEBHOOK_SIGNATURE_INVALID`, () => {
      refused(() => verifyWebhook(headers, body, SECRET));
    });
  }

  it("verifies the exact bytes: re-serialised JSON with other whitespace does not match", () => {
    const pretty = Buffer.from(JSON.stringify(JSON.parse(body.toString()), null, 2));
    refused(() => verifyWebhook({ "x-hub-signature-256": `sha256=${hex(SECRET)}` }, pretty, SECRET));
  });
});

import { expect } from "chai";
import { parse } from "yaml";
import { pinImages } from "./image-pinning.js";
import { parseImagePins, type ImagePin } from "../../nats/protocol/image-pins.js";

const ID = `sha256:${"a".repeat(64)}`;
const DIGEST = `registry.local:5000/shop/api@sha256:${"b".repeat(64)}`;
const compose = `services:
  web:
    image: stackyard/web:latest
    command: ["sleep", "3600"]
  api:
    image: registry.local:5000/shop/api:1
  other:
    image: stackyard/other:2
`;
const images = (yaml: string) =>
  Object.fromEntries(
    Object.entries((parse(yaml) as { services: Record<string, { image: string }> }).services).map(([k, v]) => [
      k,
      v.image,
    ]),
  );

describe("pinImages", () => {
  it("replaces the image of each pinned service that still names the pinned tag, and nothing else", () => {
    const pins: ImagePin[] = [
      { service: "web", image: "stackyard/web:latest", pinned: ID, kind: "image-id" },
      // Swarm's spec carries the tag with its resolved digest; the compose has the tag alone.
      {
        service: "api",
        image: `registry.local:5000/shop/api:1@sha256:${"b".repeat(64)}`,
        pinned: DIGEST,
        kind: "digest",
      },
    ];
    const out = pinImages(compose, pins);
    expect(images(out.yaml)).to.deep.equal({ web: ID, api: DIGEST, other: "stackyard/other:2" });
    expect(out.applied.map((p) => p.service)).to.deep.equal(["web", "api"]);
    expect((parse(out.yaml) as { services: { web: { command: string[] } } }).services.web.command).to.deep.equal([
      "sleep",
      "3600",
    ]);
  });

  it("keeps pinning from a deployment that was itself pinned (its image is the pinned reference)", () => {
    const out = pinImages(compose, [{ service: "web", image: ID, pinned: ID, kind: "image-id" }]);
    expect(images(out.yaml).web).to.equal(ID);
  });

  it("leaves a service whose image changed since the pin, and a pin of a service that is gone", () => {
    const pins: ImagePin[] = [
      { service: "other", image: "stackyard/other:1", pinned: ID, kind: "image-id" },
      { service: "gone", image: "x:1", pinned: ID, kind: "image-id" },
    ];
    const out = pinImages(compose, pins);
    expect(out.applied).to.deep.equal([]);
    expect(out.yaml).to.equal(compose);
  });
});

describe("parseImagePins", () => {
  it("keeps well-formed pins and drops the rest (wrong kind for the reference, bad shapes, duplicates)", () => {
    const pins = parseImagePins([
      { service: "web", image: "a:1", pinned: ID, kind: "image-id" },
      { service: "api", image: "b:1", pinned: DIGEST, kind: "digest" },
      { service: "bad1", image: "a:1", pinned: ID, kind: "digest" },
      { service: "bad2", image: "a:1", pinned: "a:1", kind: "image-id" },
      { service: "web", image: "a:1", pinned: ID, kind: "image-id" },
      { service: "$(x)", image: "a:1", pinned: ID, kind: "image-id" },
      "nope",
    ]);
    expect(pins?.map((p) => p.service)).to.deep.equal(["web", "api"]);
    expect(parseImagePins(undefined)).to.equal(null);
  });
});

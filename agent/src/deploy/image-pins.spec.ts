import { expect } from "chai";
import { pinOf, repositoryOf, resolveImagePins, type ImageLookup } from "./image-pins.js";

const ID_A = `sha256:${"a".repeat(64)}`;
const ID_B = `sha256:${"b".repeat(64)}`;
const D = "c".repeat(64);

function lookup(running: Record<string, string[]>, images: Record<string, { id: string; repoDigests: string[] }>) {
  return {
    runningImageIds: async (name: string) => running[name] ?? [],
    inspectImage: async (ref: string) => images[ref] ?? null,
  } satisfies ImageLookup;
}

describe("image pins", () => {
  it("repositoryOf strips tag and digest but not a registry port", () => {
    expect(repositoryOf("reg:5000/a/b:1@sha256:x")).to.equal("reg:5000/a/b");
    expect(repositoryOf("reg:5000/a/b")).to.equal("reg:5000/a/b");
    expect(repositoryOf("nginx:1")).to.equal("nginx");
  });

  it("a spec Swarm resolved to a digest is pinned as it is", async () => {
    const image = `nginx:1@sha256:${D}`;
    expect(await pinOf(lookup({}, {}), "s_web", image)).to.deep.equal({ pinned: image, kind: "digest" });
  });

  it("pins the running container's image, not where the tag points now", async () => {
    const l = lookup(
      { s_web: [ID_A] },
      { [ID_A]: { id: ID_A, repoDigests: [] }, "web:latest": { id: ID_B, repoDigests: [] } },
    );
    expect(await pinOf(l, "s_web", "web:latest")).to.deep.equal({ pinned: ID_A, kind: "image-id" });
  });

  it("prefers the image's registry digest of the same repository", async () => {
    const l = lookup(
      { s_api: [ID_A] },
      { [ID_A]: { id: ID_A, repoDigests: [`other/x@sha256:${"e".repeat(64)}`, `reg:5000/api@sha256:${D}`] } },
    );
    expect(await pinOf(l, "s_api", "reg:5000/api:2")).to.deep.equal({
      pinned: `reg:5000/api@sha256:${D}`,
      kind: "digest",
    });
  });

  it("gives no pin when two images run for one service or the image is unknown", async () => {
    expect(await pinOf(lookup({ s_web: [ID_A, ID_B] }, {}), "s_web", "web:1")).to.equal(null);
    expect(await pinOf(lookup({}, {}), "s_web", "web:1")).to.equal(null);
  });

  it("names services without the stack prefix and leaves out the unknown", async () => {
    const l = lookup({ s_web: [ID_A] }, { [ID_A]: { id: ID_A, repoDigests: [] } });
    const health = (name: string, image: string) => ({ name, image, desired: 1, running: 1, healthy: true });
    const pins = await resolveImagePins(l, "s", [health("s_web", "web:1"), health("s_db", "db:1")]);
    expect(pins).to.deep.equal([{ service: "web", image: "web:1", pinned: ID_A, kind: "image-id" }]);
  });
});

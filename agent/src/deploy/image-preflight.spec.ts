import { expect } from "chai";
import { DeployError } from "./errors.js";
import { composeImages, parseChallenge, parseImageRef, preflightImages } from "./image-preflight.js";
import type { DeployEvent, RegistryLogin } from "./types.js";

const LOGIN: RegistryLogin = { registry: "registry.example.com", username: "ci", password: "pa55-word" };

interface Call {
  url: string;
  method: string;
  authorization: string | null;
}

/** A scripted registry API: answers by URL and Authorization header. */
function fakeFetch(answer: (call: Call) => Response): { fetch: typeof fetch; calls: Call[] } {
  const calls: Call[] = [];
  const fn = async (input: string | URL | Request, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    const call = { url: String(input), method: init?.method ?? "GET", authorization: headers.get("authorization") };
    calls.push(call);
    return answer(call);
  };
  return { fetch: fn as typeof fetch, calls };
}

async function run(compose: string, logins: RegistryLogin[], fetchFn: typeof fetch, local: string[] = []) {
  const events: DeployEvent[] = [];
  let error: unknown = null;
  try {
    await preflightImages(compose, logins, {
      fetch: fetchFn,
      hasImage: async (image) => local.includes(image),
      emit: (e) => events.push(e),
      signal: new AbortController().signal,
    });
  } catch (err) {
    error = err;
  }
  return { events, error };
}

const compose = (image: string) => `services:\n  web:\n    image: ${image}\n`;
const unauthorized = (challenge: string) =>
  new Response(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }), {
    status: 401,
    headers: { "www-authenticate": challenge },
  });

describe("image pre-flight", () => {
  it("reads image references the way docker does", () => {
    expect(parseImageRef("nginx")).to.deep.include({
      registry: "docker.io",
      repository: "library/nginx",
      reference: "latest",
    });
    expect(parseImageRef("acme/api:1.2")).to.deep.include({
      registry: "docker.io",
      repository: "acme/api",
      reference: "1.2",
    });
    expect(parseImageRef("127.0.0.1:5000/team/app:v1")).to.deep.include({
      registry: "127.0.0.1:5000",
      repository: "team/app",
      reference: "v1",
    });
    expect(parseImageRef("localhost/app@sha256:abc")).to.deep.include({
      registry: "localhost",
      repository: "app",
      reference: "sha256:abc",
    });
    expect(parseImageRef("Registry.Example.com/a/b:c").registry).to.equal("registry.example.com");
    expect(composeImages("services:\n  a: { image: x }\n  b: { image: x }\n  c: { build: . }\n")).to.deep.equal(["x"]);
    expect(
      parseChallenge('Bearer realm="https://auth.example.com/token",service="reg",scope="repository:a:pull"'),
    ).to.deep.equal({
      scheme: "bearer",
      params: { realm: "https://auth.example.com/token", service: "reg", scope: "repository:a:pull" },
    });
  });

  it("answers a Basic challenge with the environment's login", async () => {
    const { fetch, calls } = fakeFetch((c) =>
      c.authorization === `Basic ${Buffer.from("ci:pa55-word").toString("base64")}`
        ? new Response(null, { status: 200 })
        : unauthorized('Basic realm="r"'),
    );
    const { error, events } = await run(compose("registry.example.com/team/app:v1"), [LOGIN], fetch);
    expect(error).to.equal(null);
    expect(calls[0]!.url).to.equal("https://registry.example.com/v2/team/app/manifests/v1");
    expect(events.map((e) => e.message)).to.deep.equal([
      "pre-flight: registry.example.com/team/app:v1 resolves on registry.example.com (as ci)",
    ]);
    expect(JSON.stringify(events)).to.not.include("pa55-word");
  });

  it("answers a Bearer challenge: a token from the realm (with the login), then the manifest with the token", async () => {
    const { fetch, calls } = fakeFetch((c) => {
      if (c.url.startsWith("https://auth.example.com/token")) {
        return c.authorization?.startsWith("Basic ")
          ? Response.json({ token: "tok-123" })
          : new Response("{}", { status: 401 });
      }
      return c.authorization === "Bearer tok-123"
        ? new Response(null, { status: 200 })
        : unauthorized('Bearer realm="https://auth.example.com/token",service="registry.example.com"');
    });
    const { error } = await run(compose("registry.example.com/team/app:v1"), [LOGIN], fetch);
    expect(error).to.equal(null);
    const token = new URL(calls[1]!.url);
    expect(token.searchParams.get("service")).to.equal("registry.example.com");
    expect(token.searchParams.get("scope")).to.equal("repository:team/app:pull");
    expect(calls[2]!.authorization).to.equal("Bearer tok-123");
  });

  it("fails with the image and the registry's answer: 401 without a login, manifest unknown, unreachable", async () => {
    const { fetch } = fakeFetch((c) => {
      if (c.url.includes("/secret/")) return unauthorized('Basic realm="r"');
      if (c.url.includes("/gone/")) {
        return new Response(JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown" }] }), {
          status: 404,
        });
      }
      throw new TypeError("fetch failed", { cause: { code: "ECONNREFUSED" } });
    });
    const doc =
      "services:\n  a: { image: 'other.example.com/secret/a:1' }\n  b: { image: 'other.example.com/gone/b:1' }\n  c: { image: 'down.example.com/c:1' }\n";
    const { error, events } = await run(doc, [LOGIN], fetch);
    expect(error).to.be.instanceOf(DeployError);
    expect((error as DeployError).code).to.equal("IMAGE_PREFLIGHT_FAILED");
    expect((error as Error).message).to.match(/^pre-flight: 3 image\(s\) cannot be pulled, nothing was changed/);
    const failed = events.filter((e) => e.level === "error").map((e) => e.message);
    expect(failed[0]).to.match(/other\.example\.com\/secret\/a:1 .*401 Unauthorized.*asks for a login/);
    expect(failed[1]).to.match(/other\.example\.com\/gone\/b:1 .*MANIFEST_UNKNOWN: manifest unknown/);
    expect(failed[2]).to.match(/down\.example\.com\/c:1 .*registry unreachable: ECONNREFUSED/);
    expect(events.filter((e) => e.level === "error")[1]!.data).to.deep.include({ status: 404 });
  });

  it("a wrong password: the registry's 401 answer", async () => {
    const { fetch } = fakeFetch((c) =>
      c.method === "GET"
        ? unauthorized('Basic realm="r"')
        : new Response(null, { status: 401, headers: { "www-authenticate": 'Basic realm="r"' } }),
    );
    const { error, events } = await run(compose("registry.example.com/team/app:v1"), [LOGIN], fetch);
    expect((error as DeployError).code).to.equal("IMAGE_PREFLIGHT_FAILED");
    expect(events[0]!.message).to.match(/401 Unauthorized \(UNAUTHORIZED: authentication required\)/);
  });

  it("does not look up an image this node has when no credential covers its registry; does when one does", async () => {
    const { fetch, calls } = fakeFetch(() => new Response(null, { status: 200 }));
    const local = ["stackyard/busybox:test", "registry.example.com/team/app:v1"];
    const doc = "services:\n  a: { image: stackyard/busybox:test }\n  b: { image: registry.example.com/team/app:v1 }\n";
    const { error, events } = await run(doc, [LOGIN], fetch, local);
    expect(error).to.equal(null);
    expect(calls.map((c) => c.url)).to.deep.equal(["https://registry.example.com/v2/team/app/manifests/v1"]);
    expect(events[0]!.data).to.deep.include({ image: "stackyard/busybox:test", checked: false });
  });

  it("speaks plain HTTP to loopback registries only", async () => {
    const { fetch, calls } = fakeFetch(() => new Response(null, { status: 200 }));
    await run(compose("127.0.0.1:5000/a:1"), [], fetch);
    await run(compose("localhost:5000/a:1"), [], fetch);
    await run(compose("10.0.0.1:5000/a:1"), [], fetch);
    expect(calls.map((c) => c.url.split("/v2/")[0])).to.deep.equal([
      "http://127.0.0.1:5000",
      "http://localhost:5000",
      "https://10.0.0.1:5000",
    ]);
  });
});

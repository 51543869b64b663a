// Builds the agent as the agent image runs it: one ES module file, dist/stackyard-agent.mjs, for Node 22 with no
// node_modules and no TypeScript loader (less memory at idle than `node --import tsx`: bench/footprint.bench.ts).
import { bundleNodeProgram } from "./bundle.mjs";

/**
 * CommonJS source of a package that must never be used: each of its exports (read at load time, as
 * `require("ssh2").Client`) is a function that throws with `why` when called or constructed.
 */
function unused(name, why) {
  const message = JSON.stringify(`${name} is not bundled with the agent: ${why}`);
  return `const refuse = function () {
  throw new Error(${message});
};
module.exports = new Proxy({}, {
  get: (_target, key) => (key === "__esModule" || typeof key === "symbol" ? undefined : refuse),
});`;
}

await bundleNodeProgram({
  entry: "agent/src/main.ts",
  outfile: process.argv[2] ?? "dist/stackyard-agent.mjs",
  target: "node22",
  // Required by dockerode for what the agent never does: ssh:// Docker hosts (ssh2, which also instantiates a
  // WebAssembly module with a 16 MB memory as it loads) and BuildKit sessions (gRPC, protobuf; the agent builds
  // with the classic builder API). A stub throws on first use instead, and the bundle is 1.8 MB smaller; ssh2's
  // optional native addons (cpu-features, sshcrypto.node) go with it.
  stubs: {
    ssh2: unused("ssh2", "the agent reaches Docker through the manager's socket (unix:// or tcp://), not over ssh"),
    "@grpc/grpc-js": unused("@grpc/grpc-js", "BuildKit sessions are not part of the agent"),
    "@grpc/proto-loader": unused("@grpc/proto-loader", "BuildKit sessions are not part of the agent"),
    protobufjs: unused("protobufjs", "BuildKit sessions are not part of the agent"),
  },
});

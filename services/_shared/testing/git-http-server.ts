/**
 * A real smart-HTTP git server for tests: `git http-backend` (CGI, shipped with git) behind a loopback Node HTTP
 * server that demands Basic auth with one user name and token, and can answer every request with a redirect.
 */
import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface GitHttpServer {
  url: string;
  /** The Authorization headers and request URLs seen, for assertions. */
  seen: Array<{ url: string; authorization: string | undefined }>;
  /** When set, every request is answered 302 to this URL. */
  redirectTo: string | undefined;
  stop(): Promise<void>;
}

export async function startGitHttpServer(projectRoot: string, username: string, token: string): Promise<GitHttpServer> {
  const expected = `Basic ${Buffer.from(`${username}:${token}`).toString("base64")}`;
  const state: GitHttpServer = { url: "", seen: [], redirectTo: undefined, stop: async () => {} };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    state.seen.push({ url: req.url ?? "", authorization: req.headers.authorization });
    if (state.redirectTo !== undefined) {
      res.writeHead(302, { location: state.redirectTo + (req.url ?? "") }).end();
      return;
    }
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { "www-authenticate": 'Basic realm="git"' }).end();
      return;
    }
    const [path, query = ""] = (req.url ?? "/").split("?");
    const cgi = spawn("git", ["http-backend"], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: projectRoot,
        GIT_HTTP_EXPORT_ALL: "1",
        PATH_INFO: path,
        QUERY_STRING: query,
        REQUEST_METHOD: req.method ?? "GET",
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        REMOTE_USER: username,
        REMOTE_ADDR: "127.0.0.1",
        ...(req.headers["git-protocol"] ? { GIT_PROTOCOL: String(req.headers["git-protocol"]) } : {}),
      },
    });
    req.pipe(cgi.stdin);
    let buffer = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on("data", (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf("\r\n\r\n");
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      for (const line of buffer.subarray(0, end).toString("latin1").split("\r\n")) {
        const colon = line.indexOf(":");
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === "status") status = Number(value.split(" ")[0]);
        else res.setHeader(name, value);
      }
      res.writeHead(status);
      res.write(buffer.subarray(end + 4));
    });
    cgi.on("close", () => res.end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.stop = () => new Promise((resolve) => server.close(() => resolve()));
  return state;
}

/**
 * The proxy's nginx.conf, rendered from a cluster's routes, current certificates and open ACME challenges. Pure
 * and deterministic (same input, same text, same Swarm config name). Every value placed in it was validated by
 * the API (hosts, path prefixes, service keys) or comes from Stackyard itself, and is quoted where nginx allows it.
 * Upstreams are resolved per request through Swarm's DNS, so a route to a service not deployed yet answers 502
 * instead of keeping nginx from starting.
 */
import { createHash } from "node:crypto";

/** Swarm's embedded DNS server, on every overlay network. */
export const SWARM_DNS = "127.0.0.11";
/** Where the proxy's certificates are mounted (Swarm secrets). */
export const SECRETS_DIR = "/run/secrets";

export interface NginxRoute {
  host: string;
  pathPrefix: string;
  /** The Swarm service name (`<swarmStack>_<service>`), reachable on the proxy's network. */
  upstream: string;
  port: number;
  tls: boolean;
}

export interface NginxCertificate {
  host: string;
  /** The file under /run/secrets holding the key and the chain. */
  target: string;
}

export interface NginxChallenge {
  host: string;
  token: string;
  keyAuthorization: string;
}

export interface NginxInput {
  clusterId: string;
  /** Sent back on every response (`X-Stackyard-Ingress-Revision`): which configuration served it. */
  revision: number;
  routes: NginxRoute[];
  certificates: NginxCertificate[];
  challenges: NginxChallenge[];
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function renderNginxConfig(input: NginxInput): string {
  const hosts = [...new Set(input.routes.map((r) => r.host))].sort(compare);
  const certs = new Map(input.certificates.map((c) => [c.host, c]));
  const challenges = [...input.challenges].sort((a, b) => compare(a.token, b.token));
  const out: string[] = [
    `# Rendered by Stackyard for cluster ${input.clusterId}: do not edit, every change is a new Swarm config.`,
    "worker_processes auto;",
    "pid /run/nginx.pid;",
    "error_log stderr warn;",
    "events { worker_connections 4096; }",
    "http {",
    "  access_log off;",
    "  default_type application/octet-stream;",
    "  server_tokens off;",
    `  add_header X-Stackyard-Ingress-Revision ${input.revision} always;`,
    "  server_names_hash_bucket_size 128;",
    `  resolver ${SWARM_DNS} valid=5s ipv6=off;`,
    "  resolver_timeout 5s;",
    "  client_max_body_size 64m;",
    "  proxy_http_version 1.1;",
    '  map $http_upgrade $stackyard_connection { default upgrade; "" ""; }',
    "  proxy_set_header Host $host;",
    "  proxy_set_header X-Real-IP $remote_addr;",
    "  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    "  proxy_set_header X-Forwarded-Proto $scheme;",
    "  proxy_set_header Upgrade $http_upgrade;",
    "  proxy_set_header Connection $stackyard_connection;",
    "  server {",
    "    listen 80 default_server;",
    ...challengeLocations(challenges),
    "    location / { return 404; }",
    "  }",
    "  server {",
    "    listen 443 ssl default_server;",
    "    ssl_reject_handshake on;",
    "  }",
  ];
  for (const host of hosts) {
    const routes = input.routes.filter((r) => r.host === host).sort((a, b) => compare(a.pathPrefix, b.pathPrefix));
    const locations = routes.flatMap((r) => [
      `    location ${r.pathPrefix} {`,
      // `tasks.<service>`: Swarm's DNS answers the tasks' own addresses, so no virtual-IP balancing is needed.
      `      set $stackyard_upstream "tasks.${r.upstream}:${r.port}";`,
      "      proxy_pass http://$stackyard_upstream;",
      "    }",
    ]);
    const own = challenges.filter((c) => c.host === host);
    out.push(
      "  server {",
      "    listen 80;",
      `    server_name ${host};`,
      ...challengeLocations(own),
      ...locations,
      "  }",
    );
    const cert = certs.get(host);
    if (cert && routes.some((r) => r.tls)) {
      const file = `${SECRETS_DIR}/${cert.target}`;
      out.push(
        "  server {",
        "    listen 443 ssl;",
        `    server_name ${host};`,
        `    ssl_certificate ${file};`,
        `    ssl_certificate_key ${file};`,
        ...locations,
        "  }",
      );
    }
  }
  out.push("}", "");
  return out.join("\n");
}

function challengeLocations(challenges: NginxChallenge[]): string[] {
  return challenges.map(
    (c) =>
      `    location = /.well-known/acme-challenge/${c.token} { default_type text/plain; return 200 "${c.keyAuthorization}"; }`,
  );
}

/** `<service>-<revision>-<hash>`: a new name for every content, never reused (Swarm configs are immutable). */
export function configName(serviceName: string, revision: number, text: string): string {
  return `${serviceName}-${revision}-${createHash("sha256").update(text).digest("hex").slice(0, 12)}`;
}

/** The Swarm secret of one stored certificate: derived from its row and content. */
export function certificateSecretName(serviceName: string, certificateId: string, pem: string): string {
  const hash = createHash("sha256").update(certificateId).update("\0").update(pem).digest("hex").slice(0, 16);
  return `${serviceName}-tls-${hash}`;
}

/**
 * The SSRF guard of webhook endpoints: the control plane POSTs to any URL an org admin gives it, so the host is
 * resolved and every address checked, at creation and again before each delivery; the request then goes to the
 * checked address only (a second DNS answer cannot point it at the metadata service: DNS rebinding).
 */
import { isIP } from "node:net";
import { UnprocessableError } from "../_shared/errors.js";
import { blockedReason, systemLookup, type Lookup } from "../_shared/outbound-guard.js";

export interface EndpointHostPolicy {
  blockPrivateNetworks: boolean;
  /** TEST ONLY (STACKYARD_TEST_NOTIFY_ALLOW_HOSTS): exact `host:port` pairs let through. */
  testAllowedHosts: ReadonlySet<string>;
}

export class EndpointUrlError extends UnprocessableError {}

export interface CheckedTarget {
  url: URL;
  /** Where to connect: the checked address, whatever the host resolves to later. */
  address: string;
  port: number;
}

/** Parses the URL as an endpoint must be: http(s), no user info, a host. */
export function parseEndpointUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new EndpointUrlError("NOTIFICATION_URL_INVALID", "url is not a valid absolute URL", { field: "url" });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new EndpointUrlError("NOTIFICATION_URL_INVALID", `url must be http(s), not ${url.protocol}`, {
      field: "url",
    });
  }
  if (url.username || url.password) {
    throw new EndpointUrlError(
      "NOTIFICATION_URL_INVALID",
      "url must not carry a user name or password: the request is signed instead",
      { field: "url" },
    );
  }
  return url;
}

export async function checkEndpointUrl(
  raw: string,
  policy: EndpointHostPolicy,
  lookup: Lookup = systemLookup,
): Promise<CheckedTarget> {
  const url = parseEndpointUrl(raw);
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  let addresses: string[];
  if (isIP(host) !== 0) {
    addresses = [host];
  } else {
    addresses = await lookup(host).then(
      (answer) => answer.map((a) => a.address),
      () => [],
    );
    if (addresses.length === 0) {
      throw new EndpointUrlError("NOTIFICATION_HOST_UNRESOLVABLE", `the endpoint host "${host}" does not resolve`, {
        field: "url",
        host,
      });
    }
  }
  const first = addresses[0] as string;
  if (policy.testAllowedHosts.has(`${host.toLowerCase()}:${port}`)) return { url, address: first, port };
  for (const address of addresses) {
    const reason = blockedReason(address, policy.blockPrivateNetworks);
    if (reason !== undefined) {
      throw new EndpointUrlError(
        "NOTIFICATION_HOST_FORBIDDEN",
        `the endpoint host "${host}" resolves to ${address} (${reason}); the control plane does not send there`,
        { field: "url", host, address, reason },
      );
    }
  }
  return { url, address: first, port };
}

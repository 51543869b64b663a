/**
 * The integration event catalogue (openapi/asyncapi.yaml) as a test oracle: which channel a subject belongs to and
 * whether a message matches that channel's payload schema. Spec-first: a message the document does not describe
 * fails the test that received it.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { parse } from "yaml";

export const ASYNCAPI_FILE = fileURLToPath(new URL("../../../openapi/asyncapi.yaml", import.meta.url));

interface ChannelDoc {
  address: string;
  parameters?: Record<string, { enum?: string[]; $ref?: string }>;
  messages: Record<string, { $ref: string }>;
}

export interface CatalogueChannel {
  name: string;
  pattern: RegExp;
  validators: ValidateFunction[];
}

export interface Catalogue {
  channels: CatalogueChannel[];
  /** The channel of `subject` after checking `payload` against its messages; throws with the reasons otherwise. */
  check(subject: string, payload: unknown): string;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&");

/**
 * A channel address as a regular expression: each `{param}` is one subject token (its enum, if any), except a
 * trailing parameter without an enum, which may span tokens (the audit channel's dotted action).
 */
function addressPattern(channel: ChannelDoc): RegExp {
  const parts = channel.address.split(/(\{[A-Za-z]+\})/).filter(Boolean);
  const source = parts
    .map((part, i) => {
      const m = /^\{([A-Za-z]+)\}$/.exec(part);
      if (!m) return escape(part);
      const param = channel.parameters?.[m[1]!];
      if (param?.enum) return `(${param.enum.map(escape).join("|")})`;
      return i === parts.length - 1 ? "([A-Za-z0-9_-]+(?:\\.[A-Za-z0-9_-]+)*)" : "([A-Za-z0-9_-]+)";
    })
    .join("");
  return new RegExp(`^${source}$`);
}

export function loadCatalogue(file = ASYNCAPI_FILE): Catalogue {
  const doc = parse(readFileSync(file, "utf8")) as {
    channels: Record<string, ChannelDoc>;
    components: { messages: Record<string, { payload: { $ref: string } }> };
  };
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  ajv.addSchema(doc as object, "asyncapi");
  const channels = Object.entries(doc.channels).map(([name, channel]) => ({
    name,
    pattern: addressPattern(channel),
    validators: Object.values(channel.messages).map((m) => {
      // "#/components/messages/x" → that message's payload.
      const pointer = `${m.$ref}/payload`;
      return ajv.compile({ $ref: `asyncapi${pointer}` });
    }),
  }));
  return {
    channels,
    check(subject, payload) {
      const channel = channels.find((c) => c.pattern.test(subject));
      if (!channel) throw new Error(`no channel of openapi/asyncapi.yaml matches ${subject}`);
      const errors: string[] = [];
      for (const v of channel.validators) {
        if (v(payload)) return channel.name;
        errors.push(ajv.errorsText(v.errors));
      }
      throw new Error(`${subject} (${channel.name}) does not match its schema: ${errors.join("; ")}`);
    },
  };
}

/**
 * The fuzzer's "valid" strings must be valid: a pattern it misread makes every request built from it a 400, which
 * the fuzzer then reports against the API (a `make fuzz` run reported `^[^:\s]+$`, read as the characters `^ : s`,
 * as "expected 404, got 400"), and hides what a valid body would have reached.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { REPO_ROOT } from "../../services/_shared/paths.js";
import { Rng } from "./prng.js";
import { stringFromPattern } from "./schema-values.js";

function patternsIn(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const n of node) patternsIn(n, out);
  else if (node && typeof node === "object")
    for (const [k, v] of Object.entries(node)) {
      if (k === "pattern" && typeof v === "string") out.add(v);
      else patternsIn(v, out);
    }
  return out;
}

describe("fuzzer: strings from the spec's patterns", () => {
  const spec = parse(readFileSync(join(REPO_ROOT, "openapi/openapi.yaml"), "utf8")) as unknown;
  const patterns = [...patternsIn(spec)];

  it("finds the spec's patterns", () => {
    expect(patterns).to.include("^[^:\\s]+$");
    expect(patterns.length).to.be.greaterThan(10);
  });

  it("makes strings every pattern of the spec accepts (negated classes, escapes, optional groups)", () => {
    for (const pattern of patterns) {
      const re = new RegExp(pattern);
      for (let seed = 1; seed <= 200; seed++) {
        const s = stringFromPattern(pattern, new Rng(seed));
        expect(re.test(s), `${JSON.stringify(s)} for ${pattern} (seed ${seed})`).to.equal(true);
      }
    }
  });
});

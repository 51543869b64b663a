import { expect } from "chai";
import { parseLogSearchQuery } from "./log-search.js";

const NOW = Date.parse("2026-12-03T12:00:00Z");
const since = "2026-12-03T11:00:00Z";
const codeOf = (f: () => unknown) => {
  try {
    f();
    return "none";
  } catch (e) {
    return `${(e as { type?: string }).type}: ${(e as Error).message}`;
  }
};

describe("parseLogSearchQuery", () => {
  it("turns the RFC 3339 range into unix seconds, until defaulting to now", () => {
    expect(parseLogSearchQuery({ since: "2026-12-03T11:00:00.900+01:00" }, NOW)).to.deep.equal({
      since: Date.parse("2026-12-03T10:00:00Z") / 1000,
      until: NOW / 1000,
      text: null,
      services: null,
      limit: 1000,
    });
  });

  it("reads services repeated or as a comma list, without duplicates, and trims the text", () => {
    const w = parseLogSearchQuery({ since, service: ["web,api", "web", " db "], q: "  time out ", limit: 5 }, NOW);
    expect(w).to.deep.include({ services: ["web", "api", "db"], text: "time out", limit: 5 });
    expect(parseLogSearchQuery({ since, service: "web" }, NOW).services).to.deep.equal(["web"]);
  });

  it("refuses a range that is empty, reversed or longer than 7 days, and a malformed service name", () => {
    expect(codeOf(() => parseLogSearchQuery({ since, until: since }, NOW))).to.match(/^VALIDATION_FAILED: until/);
    expect(codeOf(() => parseLogSearchQuery({ since, until: "2026-12-03T10:00:00Z" }, NOW))).to.match(/after since/);
    expect(codeOf(() => parseLogSearchQuery({ since: "2026-11-01T00:00:00Z" }, NOW))).to.match(/at most 7 days/);
    expect(codeOf(() => parseLogSearchQuery({ since, service: "web,../x" }, NOW))).to.match(/"..\/x" is not/);
    expect(codeOf(() => parseLogSearchQuery({ since: "yesterday" }, NOW))).to.match(/^VALIDATION_FAILED: since/);
  });
});

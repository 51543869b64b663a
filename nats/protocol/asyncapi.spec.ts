/**
 * The integration event catalogue itself: a valid AsyncAPI 3 document (@asyncapi/parser, failing on errors and
 * warnings), and every subject the control plane builds lands in one of its channels.
 */
import { expect } from "chai";
import { readFile } from "node:fs/promises";
import { Parser } from "@asyncapi/parser";
import { ASYNCAPI_FILE, loadCatalogue } from "../../services/_shared/testing/asyncapi.js";
import { DEPLOYMENT_EVENT_STATUSES, integrationSubjects } from "./integration-subjects.js";

const ORG = "6a1e9f0c-8b2d-4c3e-9f4a-0b1c2d3e4f50";
const ID = "0b0f7c8e-3d7a-4a59-9a53-5f1a2c3d4e5f";

describe("openapi/asyncapi.yaml (the integration event catalogue)", function () {
  this.timeout(30_000);

  it("is a valid AsyncAPI 3 document", async () => {
    const { document, diagnostics } = await new Parser().parse(await readFile(ASYNCAPI_FILE, "utf8"));
    // Spectral severities: 0 error, 1 warning, 2 information, 3 hint.
    const problems = diagnostics
      .filter((d) => d.severity <= 1)
      .map((d) => `${d.code}: ${d.message} at ${d.path.join(".")}`);
    expect(problems).to.deep.equal([]);
    expect(document?.version()).to.match(/^3\./);
    expect(document?.channels().length).to.be.greaterThan(5);
  });

  it("has a channel for every subject the control plane publishes on", () => {
    const { channels } = loadCatalogue();
    const channelOf = (subject: string) => channels.find((c) => c.pattern.test(subject))?.name;
    expect(channelOf(integrationSubjects.releaseCreated(ORG, ID))).to.equal("releaseCreated");
    for (const s of DEPLOYMENT_EVENT_STATUSES)
      expect(channelOf(integrationSubjects.deployment(ORG, ID, s))).to.equal("deploymentStatus");
    expect(channelOf(integrationSubjects.environment(ORG, ID, "created"))).to.equal("environmentCreated");
    expect(channelOf(integrationSubjects.environment(ORG, ID, "overlay"))).to.equal("environmentOverlay");
    expect(channelOf(integrationSubjects.environment(ORG, ID, "secret"))).to.equal("environmentSecret");
    expect(channelOf(integrationSubjects.clusterStatus(ORG, ID))).to.equal("clusterStatus");
    for (const t of ["service", "task", "node"] as const)
      expect(channelOf(integrationSubjects.dockerEvent(ORG, ID, t))).to.equal("clusterDockerEvent");
    expect(channelOf(integrationSubjects.securityWarning(ORG, ID))).to.equal("clusterSecurityWarning");
    expect(channelOf(integrationSubjects.audit(ORG, "secret.rotate"))).to.equal("audit");
    expect(integrationSubjects.audit(ORG, "odd action*")).to.equal(`stackyard.${ORG}.audit.odd_action_`);
    // Not a subject of the catalogue: the check says so rather than passing it.
    expect(channelOf(`stackyard.${ORG}.nothing`)).to.equal(undefined);
  });

  it("knows a leaf cluster's link_down status change, and its way back", () => {
    const catalogue = loadCatalogue();
    const subject = integrationSubjects.clusterStatus(ORG, ID);
    const message = (type: string, status: string, previousStatus: string) => ({
      specversion: "1",
      id: ID,
      type,
      orgId: ORG,
      time: "2026-12-03T12:00:00.000Z",
      data: { clusterId: ID, status, previousStatus, lastSeenAt: "2026-12-03T11:59:00.000Z" },
    });
    expect(() => catalogue.check(subject, message("cluster.link_down", "link_down", "online"))).to.not.throw();
    expect(() => catalogue.check(subject, message("cluster.online", "online", "link_down"))).to.not.throw();
    expect(() => catalogue.check(subject, message("cluster.offline", "offline", "link_down"))).to.not.throw();
    expect(() => catalogue.check(subject, message("cluster.link-down", "link-down", "online"))).to.throw(
      /does not match its schema/,
    );
  });

  it("refuses a message that does not match its channel's schema", () => {
    const catalogue = loadCatalogue();
    const subject = integrationSubjects.securityWarning(ORG, ID);
    expect(() =>
      catalogue.check(subject, {
        specversion: "1",
        id: ID,
        type: "cluster.security_warning",
        orgId: ORG,
        time: "x",
        data: {},
      }),
    ).to.throw(/does not match its schema/);
  });
});

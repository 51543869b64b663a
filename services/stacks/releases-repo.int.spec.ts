import { expect } from "chai";
import { TenantScope } from "../_shared/tenant.js";
import type { Db } from "../_shared/db.js";
import { AppError, toErrorResponse } from "../_shared/errors.js";
import { createTestDb } from "../_shared/testing/database.js";
import {
  createRelease,
  getRelease,
  listReleases,
  ReleaseImmutableError,
  sha256Hex,
  toReleaseError,
  type CreateReleaseInput,
} from "./releases-repo.js";
import { insertStackFixture, type StackFixture } from "./test-fixtures.js";

const COMPOSE = "services:\n  web:\n    image: nginx:1.27\n";

describe("releases repository (real Postgres)", () => {
  let db: Db;
  let fx: StackFixture;
  let other: StackFixture;

  const input = (overrides: Partial<CreateReleaseInput> = {}): CreateReleaseInput => ({
    stackId: fx.stackId,
    sourceType: "upload",
    sourceRef: null,
    composeYaml: COMPOSE,
    warnings: [],
    createdBy: null,
    ...overrides,
  });

  before(async () => {
    db = await createTestDb();
    fx = await insertStackFixture(db, "releases");
    other = await insertStackFixture(db, "other");
  });
  after(async () => {
    await db.destroy();
  });

  it("numbers 20 concurrent creations 1..20 without gaps or duplicates", async () => {
    const created = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        createRelease(new TenantScope(db, fx.orgId), input({ composeYaml: `${COMPOSE}# ${i}\n` })),
      ),
    );
    expect(created.map((r) => r.version).sort((a, b) => a - b)).to.deep.equal(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    const rows = await db("stack_releases").where({ stack_id: fx.stackId }).select("version");
    expect(rows).to.have.length(20);
  });

  it("starts at 1 per stack and stores the sha256 of the content and the warnings", async () => {
    const warnings = [
      { code: "COMPOSE_KEY_IGNORED" as const, service: "web", key: "restart", message: "restart: ignored" },
    ];
    const release = await createRelease(
      new TenantScope(db, other.orgId),
      input({ stackId: other.stackId, sourceType: "git", sourceRef: "https://x/r.git@abc:c.yml", warnings }),
    );
    expect(release).to.deep.include({
      version: 1,
      stackId: other.stackId,
      sourceType: "git",
      sourceRef: "https://x/r.git@abc:c.yml",
      composeYaml: COMPOSE,
      composeSha256: sha256Hex(COMPOSE),
      warnings,
    });
    expect(release.composeSha256).to.match(/^[0-9a-f]{64}$/);
    expect(await getRelease(new TenantScope(db, other.orgId), release.id)).to.deep.equal(release);
  });

  it("lists newest first without the compose text, and pages back by version", async () => {
    const page = await listReleases(new TenantScope(db, fx.orgId), fx.stackId, { limit: 5 });
    expect(page.map((r) => r.version)).to.deep.equal([20, 19, 18, 17, 16]);
    expect(page[0]).not.to.have.property("composeYaml");
    const next = await listReleases(new TenantScope(db, fx.orgId), fx.stackId, { limit: 5, beforeVersion: 16 });
    expect(next.map((r) => r.version)).to.deep.equal([15, 14, 13, 12, 11]);
  });

  it("keeps orgs apart", async () => {
    const [mine] = await listReleases(new TenantScope(db, fx.orgId), fx.stackId, { limit: 1 });
    expect(await listReleases(new TenantScope(db, other.orgId), fx.stackId)).to.deep.equal([]);
    await expectAppError(getRelease(new TenantScope(db, other.orgId), mine?.id ?? ""), 404, "RELEASE_NOT_FOUND");
    await expectAppError(createRelease(new TenantScope(db, other.orgId), input()), 404, "STACK_NOT_FOUND");
  });

  it("cannot be changed: the database trigger's refusal becomes ReleaseImmutableError (409)", async () => {
    const [release] = await listReleases(new TenantScope(db, fx.orgId), fx.stackId, { limit: 1 });
    const id = release?.id ?? "";
    const { composeYaml } = await getRelease(new TenantScope(db, fx.orgId), id);
    for (const change of [{ compose_yaml: "services: {}" }, { version: 99 }, { source_ref: "x" }]) {
      let caught: unknown;
      try {
        await db("stack_releases").where({ id }).update(change);
      } catch (err) {
        caught = err;
      }
      expect((caught as { code?: string }).code).to.equal("23001");
      const mapped = toReleaseError(caught, id);
      expect(mapped).to.be.instanceOf(ReleaseImmutableError);
      expect(toErrorResponse(mapped)).to.deep.equal({
        status: 409,
        body: {
          error: {
            code: "RELEASE_IMMUTABLE",
            message: "releases are immutable: create a new release instead",
            details: { releaseId: id },
          },
        },
      });
    }
    expect((await getRelease(new TenantScope(db, fx.orgId), id)).composeYaml).to.equal(composeYaml);
  });

  it("leaves other database errors alone", () => {
    const err = Object.assign(new Error("duplicate key"), { code: "23505" });
    expect(toReleaseError(err)).to.equal(err);
  });
});

async function expectAppError(promise: Promise<unknown>, status: number, code: string): Promise<void> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(AppError);
    expect((err as AppError).code).to.equal(status);
    expect((err as AppError).type).to.equal(code);
    return;
  }
  expect.fail(`expected ${code}`);
}

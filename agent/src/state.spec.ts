import { expect } from "chai";
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createUser } from "nkeys.js";
import { agentState } from "./testing/fixtures.js";
import { AgentError } from "./errors.js";
import { CREDS_FILE, STATE_FILE, loadState, saveState, stateExists } from "./state.js";

const mode = async (path: string) => (await stat(path)).mode & 0o777;

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(AgentError);
    return (err as AgentError).code;
  }
  return "OK";
}

describe("agent state directory", () => {
  let base: string;
  let dir: string;
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), "stackyard-agent-state-"));
    dir = join(base, "nested", "state");
  });
  afterEach(() => rm(base, { recursive: true, force: true }));

  it("creates the directory 0700 and the files 0600, and reads back what it wrote", async () => {
    const state = agentState();
    expect(await stateExists(dir)).to.equal(false);
    await saveState(dir, state);
    expect(await mode(dir)).to.equal(0o700);
    expect(await mode(join(dir, STATE_FILE))).to.equal(0o600);
    expect(await mode(join(dir, CREDS_FILE))).to.equal(0o600);
    expect(await stateExists(dir)).to.equal(true);
    expect(await loadState(dir)).to.deep.equal(state);
  });

  it("tightens an existing directory that was too open", async () => {
    await saveState(dir, agentState());
    await chmod(dir, 0o755);
    await saveState(dir, agentState());
    expect(await mode(dir)).to.equal(0o700);
  });

  it("writes a NATS creds file with the JWT and the seed for a leaf node", async () => {
    const state = agentState();
    await saveState(dir, state);
    const creds = await readFile(join(dir, CREDS_FILE), "utf8");
    expect(creds).to.include("-----BEGIN NATS USER JWT-----\n" + state.jwt);
    expect(creds).to.include(state.seed);
  });

  it("refuses a state file other users can read", async () => {
    await saveState(dir, agentState());
    await chmod(join(dir, STATE_FILE), 0o644);
    expect(await code(loadState(dir))).to.equal("STATE_INSECURE");
  });

  it("says to register first when there is no state", async () => {
    expect(await code(loadState(dir))).to.equal("STATE_MISSING");
  });

  it("refuses corrupt state, and a seed that does not match the public key", async () => {
    await saveState(dir, agentState());
    await writeFile(join(dir, STATE_FILE), "{", { mode: 0o600 });
    expect(await code(loadState(dir))).to.equal("STATE_INVALID");
    const other = createUser().getPublicKey();
    await writeFile(join(dir, STATE_FILE), JSON.stringify(agentState({ publicKey: other })), { mode: 0o600 });
    expect(await code(loadState(dir))).to.equal("STATE_INVALID");
    await writeFile(join(dir, STATE_FILE), JSON.stringify({ ...agentState(), seed: "nope" }), { mode: 0o600 });
    expect(await code(loadState(dir))).to.equal("STATE_INVALID");
  });

  it("refuses to save invalid state", async () => {
    expect(await code(saveState(dir, agentState({ natsUrls: [] })))).to.equal("STATE_INVALID");
    expect(await stateExists(dir)).to.equal(false);
  });
});

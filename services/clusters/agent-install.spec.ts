import { expect } from "chai";
import { agentInstall, shellQuote } from "./agent-install.js";

const TOKEN = "syr_AbC-123_xyz";

describe("agent install commands", () => {
  it("export the token and pass it to no command as an argument", () => {
    const install = agentInstall("https://cp.example.com", TOKEN, "registry.example.com/stackyard/agent:1.2");
    for (const method of [install.docker, install.fromSource]) {
      const lines = method.command.split("\n");
      expect(lines[0]).to.equal(`export STACKYARD_AGENT_TOKEN=${TOKEN}`);
      // Only the export line holds the token: every line that starts a process goes without it.
      for (const line of lines.slice(1)) expect(line).not.to.include(TOKEN);
      expect(method.command).not.to.include("--token");
      expect(method.command).to.include("register --url https://cp.example.com");
    }
    expect(install.docker.command).to.include("docker run --rm -e STACKYARD_AGENT_TOKEN ");
    expect(install.docker.command).to.include("-v stackyard-agent-state:/var/lib/stackyard-agent");
    expect(install.docker.command).to.include("-v /var/run/docker.sock:/var/run/docker.sock");
    expect(install.docker.command).to.include("registry.example.com/stackyard/agent:1.2 run");
    expect(install.docker.stateDir).to.include("stackyard-agent-state");
    expect(install.fromSource.command).to.include('export STACKYARD_AGENT_STATE_DIR="$HOME/.stackyard-agent"');
    expect(install.fromSource.stateDir).to.equal("$HOME/.stackyard-agent");
  });

  it("allow plain http only where the agent would refuse it, and say so in the environment", () => {
    expect(agentInstall("http://127.0.0.1:8080", TOKEN, "a").fromSource.command).not.to.include("ALLOW_HTTP");
    const lan = agentInstall("http://10.0.0.5:8080", TOKEN, "a");
    expect(lan.fromSource.command).to.include("export STACKYARD_AGENT_ALLOW_HTTP=true");
    expect(lan.docker.command).to.include("-e STACKYARD_AGENT_ALLOW_HTTP ");
    expect(agentInstall("https://10.0.0.5", TOKEN, "a").docker.command).not.to.include("ALLOW_HTTP");
  });

  it("quote what a shell would split or expand", () => {
    expect(shellQuote("https://cp.example.com:8443/base")).to.equal("https://cp.example.com:8443/base");
    expect(shellQuote("https://x/$(id)")).to.equal("'https://x/$(id)'");
    expect(shellQuote("it's")).to.equal(`'it'\\''s'`);
  });
});

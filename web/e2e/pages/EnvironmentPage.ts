import type { Locator, Page } from "playwright-core";
import { Shell } from "./Shell.js";

/** Deployments take real time on a real Swarm. */
const DEPLOY_TIMEOUT_MS = 90_000;

export interface ConsoleLine {
  tone: string;
  text: string;
}

export class EnvironmentPage extends Shell {
  constructor(page: Page) {
    super(page);
  }

  /** Pins the environment with a reason; resolves once the page shows the pin. */
  async pin(reason: string): Promise<string> {
    const form = this.page.getByRole("form", { name: "Pin" });
    await form.getByLabel("Reason for pinning").fill(reason);
    await form.getByRole("button", { name: "Pin" }).click();
    const notice = this.page.getByTestId("sync-pinned");
    await notice.waitFor();
    return notice.innerText();
  }

  /** Unpins; resolves once the Pin form is back. */
  async unpin(label: RegExp = /^Unpin/): Promise<void> {
    await this.page.getByTestId("sync-pinned").getByRole("button", { name: label }).click();
    await this.page.getByRole("form", { name: "Pin" }).waitFor();
  }

  async saveOverlay(variables: string, composePatchYaml: string): Promise<void> {
    const form = this.page.getByRole("form", { name: "Overlay" });
    await form.getByLabel("Variables").fill(variables);
    await form.getByLabel("Compose patch (YAML)").fill(composePatchYaml);
    await form.getByRole("button", { name: "Save overlay" }).click();
    await form.getByText("Saved.").waitFor();
  }

  async addSecret(name: string, value: string, services: string): Promise<void> {
    await this.page.getByRole("button", { name: "Add secret" }).click();
    const dialog = this.page.getByRole("dialog", { name: "Add secret" });
    await dialog.getByLabel("Name", { exact: true }).fill(name);
    await dialog.getByLabel("Value", { exact: true }).fill(value);
    await dialog.getByLabel("Services", { exact: true }).fill(services);
    await dialog.getByRole("button", { name: "Add secret" }).click();
    await dialog.waitFor({ state: "detached" });
  }

  async rotateSecret(name: string, value: string): Promise<void> {
    await this.page.locator(`tr[data-secret="${name}"]`).getByRole("button", { name: "Rotate" }).click();
    const dialog = this.page.getByRole("dialog", { name: `Rotate ${name}` });
    await dialog.getByLabel("New value").fill(value);
    await dialog.getByRole("button", { name: "Rotate secret" }).click();
    await dialog.waitFor({ state: "detached" });
  }

  async deleteSecret(name: string): Promise<void> {
    await this.page.locator(`tr[data-secret="${name}"]`).getByRole("button", { name: "Delete" }).click();
    await this.page.getByRole("dialog").getByRole("button", { name: "Delete secret" }).click();
    await this.page.locator(`tr[data-secret="${name}"]`).waitFor({ state: "detached" });
  }

  /** The list refreshes after the dialog closes: wait for the version to show rather than reading it at once. */
  async waitForSecretVersion(name: string, version: string, timeoutMs = 10_000): Promise<string> {
    const cell = this.page.locator(`tr[data-secret="${name}"] td:nth-child(3)`, { hasText: version });
    await cell.waitFor({ timeout: timeoutMs });
    return cell.innerText();
  }

  /** Opens the diff of `version` against what is deployed. */
  async compareWith(version: number): Promise<void> {
    await this.page.getByLabel("Release to compare").selectOption({ label: `release v${version}` });
    await this.page.getByRole("link", { name: "Show diff" }).click();
    await this.page.getByRole("heading", { name: /^Services:/ }).waitFor();
  }

  /** Lines of the unified diff with their kind (add, del, ctx, hunk, meta). */
  async diffLines(): Promise<Array<{ kind: string; text: string }>> {
    return this.page
      .locator(".diff .code-line")
      .evaluateAll((lines) =>
        lines.map((l) => ({ kind: l.getAttribute("data-kind") ?? "", text: l.lastElementChild?.textContent ?? "" })),
      );
  }

  serviceChanges(): Promise<string[]> {
    return this.page.locator(".service-diff > li").allInnerTexts();
  }

  /** The card of the deployment the console follows. */
  currentDeployment(): Locator {
    return this.page.getByRole("region", { name: "Current deployment" });
  }

  /** Picks release `version` in the open Deploy/Roll back dialog. */
  private async choose(dialog: Locator, version: number): Promise<void> {
    const value = await dialog.locator("option", { hasText: new RegExp(`^v${version} ·`) }).getAttribute("value");
    await dialog.getByRole("combobox").selectOption(value ?? "");
  }

  /**
   * Opens Deploy, chooses the release, waits for its diff and confirms; returns the services diff it showed.
   * Ends when the console follows the new deployment.
   */
  async deploy(version: number): Promise<string[]> {
    await this.page.getByRole("button", { name: "Deploy…" }).click();
    const dialog = this.page.getByRole("dialog", { name: "Deploy a release" });
    await this.choose(dialog, version);
    await dialog.getByRole("heading", { name: /^What changes:/ }).waitFor();
    const changes = await dialog.locator(".service-diff > li").allInnerTexts();
    await dialog.getByRole("button", { name: `Deploy v${version}` }).click();
    await dialog.waitFor({ state: "detached" });
    await this.currentDeployment()
      .getByRole("heading", { name: `Deploy of v${version}` })
      .waitFor();
    return changes;
  }

  /** Opens Roll back and returns what it offers before confirming: the warning and the preselected release. */
  async openRollback(): Promise<{ warning: string; chosen: string }> {
    await this.page.getByRole("button", { name: "Roll back…" }).click();
    const dialog = this.page.getByRole("dialog", { name: "Roll back" });
    await dialog.getByRole("heading", { name: /^What changes:/ }).waitFor();
    const select = dialog.getByRole("combobox");
    const chosen = await select.evaluate((el) => {
      const s = el as HTMLSelectElement;
      return s.options[s.selectedIndex]?.text ?? "";
    });
    return { warning: await dialog.getByTestId("rollback-warning").innerText(), chosen };
  }

  async confirmRollback(version: number): Promise<void> {
    const dialog = this.page.getByRole("dialog", { name: "Roll back" });
    await dialog.getByRole("button", { name: `Roll back to v${version}` }).click();
    await dialog.waitFor({ state: "detached" });
    await this.currentDeployment()
      .getByRole("heading", { name: `Rollback to v${version}` })
      .waitFor();
  }

  /** Waits until the console of the current deployment shows its end, and returns the final status. */
  async waitForDeploymentEnd(): Promise<string> {
    const end = this.currentDeployment().locator("[data-end]");
    await end.waitFor({ timeout: DEPLOY_TIMEOUT_MS });
    return (await end.getAttribute("data-end")) ?? "";
  }

  consoleLines(scope: Locator = this.currentDeployment()): Promise<ConsoleLine[]> {
    return scope.locator(".console-line[data-seq]").evaluateAll((lines) =>
      lines.map((l) => ({
        tone: l.getAttribute("data-tone") ?? "",
        text: l.querySelector(".console-msg")?.textContent ?? "",
      })),
    );
  }

  async waitForConsoleLine(pattern: RegExp): Promise<void> {
    await this.currentDeployment()
      .locator(".console-msg", { hasText: pattern })
      .first()
      .waitFor({ timeout: DEPLOY_TIMEOUT_MS });
  }

  async cancelCurrentDeployment(): Promise<void> {
    await this.currentDeployment().getByRole("button", { name: "Cancel deployment" }).click();
    const dialog = this.page.getByRole("dialog", { name: /^Cancel the deployment/ });
    await dialog.getByRole("button", { name: "Cancel deployment" }).click();
    await dialog.waitFor({ state: "detached", timeout: 30_000 });
  }

  private service(name: string): Locator {
    return this.page.locator(`tr[data-service="${name}"]`);
  }

  /** "running/desired" of a service, as the services table shows it. */
  replicas(name: string): Promise<string> {
    return this.service(name).getByTestId("replicas").locator(".replicas").innerText();
  }

  async waitForReplicas(name: string, text: string): Promise<void> {
    await this.service(name)
      .getByTestId("replicas")
      .locator(".replicas", { hasText: new RegExp(`^${text}$`) })
      .waitFor({ timeout: 60_000 });
  }

  /** "scaled to N" when scaling set the service's count, else null. */
  async replicaOverride(name: string): Promise<string | null> {
    const note = this.service(name).getByTestId("replica-override");
    return (await note.count()) ? note.innerText() : null;
  }

  /** A button of a service's row: whether it is enabled, and the reason it shows when not. */
  async serviceAction(name: string, label: "Scale" | "Logs"): Promise<{ enabled: boolean; reason: string | null }> {
    const button = this.service(name).getByRole("button", { name: label, exact: true });
    return { enabled: await button.isEnabled(), reason: await button.getAttribute("title") };
  }

  /** The line above the services table saying why Scale or Logs are unavailable. */
  runtimeBlocked(): Locator {
    return this.page.getByTestId("runtime-blocked");
  }

  /** Opens Deploy… or Roll back… and returns the dialog, without choosing or confirming anything. */
  async openReleaseDialog(kind: "deploy" | "rollback"): Promise<Locator> {
    await this.page.getByRole("button", { name: kind === "deploy" ? "Deploy…" : "Roll back…" }).click();
    const dialog = this.page.getByRole("dialog", { name: kind === "deploy" ? "Deploy a release" : "Roll back" });
    await dialog.waitFor();
    return dialog;
  }

  async closeDialog(dialog: Locator): Promise<void> {
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "detached" });
  }

  drift(name: string): Promise<string[]> {
    return this.service(name).locator(".drift").allInnerTexts();
  }

  /** The "drifted: env, ports" badge of a service (waits for it), and the summary per field listed under it. */
  async drifted(name: string): Promise<{ badge: string; fields: string[] }> {
    const badge = this.service(name).getByTestId("drifted");
    await badge.waitFor();
    return { badge: await badge.innerText(), fields: await this.service(name).locator("[data-field]").allInnerTexts() };
  }

  async scale(name: string, replicas: number): Promise<void> {
    await this.service(name).getByRole("button", { name: "Scale" }).click();
    const dialog = this.page.getByRole("dialog", { name: `Scale ${name}` });
    await dialog.getByLabel("Replicas").fill(String(replicas));
    await dialog.getByRole("button", { name: `Scale to ${replicas}` }).click();
    // The API answers once the tasks run.
    await dialog.waitFor({ state: "detached", timeout: 60_000 });
  }

  /** Opens the logs of a service and refreshes until a line matches; closes the dialog. */
  async waitForLogLine(name: string, pattern: RegExp): Promise<string> {
    await this.service(name).getByRole("button", { name: "Logs" }).click();
    const dialog = this.page.getByRole("dialog", { name: `Logs of ${name}` });
    const deadline = Date.now() + 30_000;
    for (;;) {
      await dialog.getByRole("button", { name: "Refresh" }).waitFor();
      const line = dialog.locator(".console-msg", { hasText: pattern }).first();
      if (await line.count()) {
        const text = await line.innerText();
        await dialog.getByRole("button", { name: "Done" }).click();
        return text;
      }
      if (Date.now() > deadline) throw new Error(`no log line of ${name} matched ${pattern}`);
      await this.page.waitForTimeout(1_000);
      await dialog.getByRole("button", { name: "Refresh" }).click();
    }
  }

  /** Rows of the deployment history: status and release, newest first. */
  history(): Promise<Array<{ status: string; release: string }>> {
    return this.page
      .getByRole("region", { name: "Deployment history" })
      .locator("tr[data-deployment]")
      .evaluateAll((rows) =>
        rows.map((r) => ({
          status: r.getAttribute("data-status") ?? "",
          release: r.querySelector("td:nth-child(2)")?.textContent ?? "",
        })),
      );
  }

  async openDeployment(row: number): Promise<void> {
    await this.page
      .getByRole("region", { name: "Deployment history" })
      .locator("tr[data-deployment]")
      .nth(row)
      .getByRole("link", { name: "Details" })
      .click();
    await this.page.getByRole("heading", { name: "Events" }).waitFor();
  }
}

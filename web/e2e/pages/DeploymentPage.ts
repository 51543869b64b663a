import type { Locator, Page } from "playwright-core";

/** One deployment's page: its outcome notice (headline, next steps), facts and console. */
export class DeploymentPage {
  constructor(private readonly page: Page) {}

  async goto(baseUrl: string, orgId: string, deploymentId: string): Promise<void> {
    await this.page.goto(`${baseUrl}/orgs/${orgId}/deployments/${deploymentId}`);
    await this.page.getByRole("heading", { level: 1 }).waitFor();
  }

  /** Waits until the console shows the deployment's end, and returns that status. */
  async waitForEnd(timeoutMs = 90_000): Promise<string> {
    const status = this.page.locator(".console-status[data-end]");
    await status.waitFor({ timeout: timeoutMs });
    return (await status.getAttribute("data-end")) ?? "";
  }

  outcome(): Locator {
    return this.page.getByRole("status", { name: "Outcome" });
  }

  headline(): Promise<string> {
    return this.outcome().locator(".headline").innerText();
  }

  nextSteps(): Locator {
    return this.page.getByRole("group", { name: "Next steps" });
  }

  /** Console lines whose text matches. */
  consoleLines(match: RegExp): Locator {
    return this.page.locator(".console-msg").filter({ hasText: match });
  }

  /** Clicks a next step that opens a confirmation, confirms it, and waits for the new deployment's page. */
  async confirmNextStep(button: RegExp, confirm: RegExp): Promise<string> {
    const before = this.page.url();
    await this.nextSteps().getByRole("button", { name: button }).click();
    await this.page.getByRole("dialog").getByRole("button", { name: confirm }).click();
    await this.page.waitForURL((url) => url.toString() !== before && /\/deployments\//.test(url.pathname));
    // A fresh load: nothing of the previous deployment's console can be read as this one's.
    await this.page.reload();
    await this.page.getByRole("heading", { level: 1 }).waitFor();
    return this.page.url().split("/deployments/")[1] ?? "";
  }
}

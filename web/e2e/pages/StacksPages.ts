import type { Page } from "playwright-core";
import { Shell } from "./Shell.js";

/** The stacks list and a stack's page (environments, releases). */
export class StacksPage extends Shell {
  constructor(page: Page) {
    super(page);
  }

  async create(name: string, description: string): Promise<void> {
    await this.page.getByRole("button", { name: "New stack" }).click();
    const dialog = this.page.getByRole("dialog", { name: "New stack" });
    await dialog.getByLabel("Name", { exact: true }).fill(name);
    await dialog.getByLabel("Description").fill(description);
    await dialog.getByRole("button", { name: "Create stack" }).click();
    await this.page.getByRole("heading", { level: 1, name }).waitFor();
  }

  /** Uploads a compose file from the textarea; ends on the new release's page. */
  async uploadRelease(composeYaml: string, note: string): Promise<void> {
    await this.page.getByRole("button", { name: "Upload release" }).click();
    const dialog = this.page.getByRole("dialog", { name: "Upload release" });
    await dialog.getByLabel("…or paste it").fill(composeYaml);
    await dialog.getByLabel("Source note").fill(note);
    await dialog.getByRole("button", { name: "Create release" }).click();
    await this.page.getByRole("heading", { level: 1, name: /^Release v\d+$/ }).waitFor();
  }

  async createEnvironment(name: string, clusterName: string): Promise<void> {
    await this.page.getByRole("button", { name: "New environment" }).click();
    const dialog = this.page.getByRole("dialog", { name: "New environment" });
    await dialog.getByLabel("Name", { exact: true }).fill(name);
    const option = await dialog.locator("option", { hasText: `${clusterName} (` }).getAttribute("value");
    await dialog.getByLabel("Cluster").selectOption(option ?? "");
    await dialog.getByRole("button", { name: "Create environment" }).click();
    await dialog.waitFor({ state: "detached" });
    await this.page.getByRole("link", { name, exact: true }).waitFor();
  }

  async releaseVersions(): Promise<string[]> {
    return this.page.locator("section", { hasText: "Releases" }).locator("tbody tr td:first-child").allInnerTexts();
  }
}

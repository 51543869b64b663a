import type { Page } from "playwright-core";
import { Shell } from "./Shell.js";

export class ClustersPage extends Shell {
  constructor(page: Page) {
    super(page);
  }

  /** Adds a cluster and returns what the one-time dialog shows, leaving the dialog open. */
  async addCluster(name: string): Promise<{ registrationToken: string; docker: string; fromSource: string }> {
    await this.page.getByRole("button", { name: "Add cluster" }).click();
    const dialog = this.page.getByRole("dialog", { name: "Add cluster" });
    await dialog.getByLabel("Name", { exact: true }).fill(name);
    await dialog.getByRole("button", { name: "Add cluster" }).click();
    await this.page.getByRole("dialog", { name: `Cluster ${name} added` }).waitFor();
    return {
      registrationToken: await this.secret("Registration token"),
      docker: await this.page.getByTestId("install-docker").innerText(),
      fromSource: await this.page.getByTestId("install-fromSource").innerText(),
    };
  }

  async closeDialog(): Promise<void> {
    await this.page.getByRole("dialog").getByRole("button", { name: "Done" }).click();
    await this.page.getByRole("dialog").waitFor({ state: "detached" });
  }

  async statusOf(name: string): Promise<string> {
    return this.page.getByRole("row").filter({ hasText: name }).locator(".badge").innerText();
  }

  async open(name: string): Promise<void> {
    await this.page.getByRole("link", { name, exact: true }).click();
    await this.page.getByRole("heading", { name: "Facts" }).waitFor();
  }
}

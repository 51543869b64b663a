import type { Page } from "playwright-core";
import { Shell } from "./Shell.js";

/** The org's git credentials page and the release-from-git dialog of a stack. */
export class GitCredentialsPage extends Shell {
  constructor(page: Page) {
    super(page);
  }

  /** Creates a deploy key; returns the public key the dialog shows, after copying it with the button. */
  async createDeployKey(name: string): Promise<{ publicKey: string; copied: string }> {
    await this.page.getByRole("button", { name: "New credential" }).click();
    const dialog = this.page.getByRole("dialog", { name: "New git credential" });
    await dialog.getByLabel("Name", { exact: true }).fill(name);
    await dialog.getByRole("button", { name: "Create credential" }).click();
    const shown = this.page.getByRole("dialog", { name: `Credential ${name} created` });
    const publicKey = await shown.getByTestId("created-public-key").innerText();
    await shown.getByRole("button", { name: "Copy public key" }).click();
    await shown.getByRole("button", { name: "Copied" }).waitFor();
    const copied = await this.page.evaluate(() => navigator.clipboard.readText());
    await shown.getByRole("button", { name: "Done" }).click();
    return { publicKey, copied };
  }

  card(name: string) {
    return this.page.locator(`[data-credential="${name}"]`);
  }

  /** Fills the release-from-git dialog on a stack's page; waits for the release page or the error. */
  async releaseFromGit(repoUrl: string, credentialName: string | null): Promise<void> {
    await this.page.getByRole("button", { name: "Release from git" }).click();
    const dialog = this.page.getByRole("dialog", { name: "Release from git" });
    await dialog.getByLabel("Repository URL").fill(repoUrl);
    if (credentialName) {
      await dialog.getByLabel("Credential").selectOption({ label: `${credentialName} (SSH deploy key)` });
    }
    await dialog.getByRole("button", { name: "Create release" }).click();
  }
}

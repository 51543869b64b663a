import type { Page } from "playwright-core";
import { Shell } from "./Shell.js";

export class TokensPage extends Shell {
  constructor(page: Page) {
    super(page);
  }

  /** Creates a token and returns the secret shown once; closes the dialog. */
  async create(name: string, scopes: string[]): Promise<string> {
    await this.page.getByRole("button", { name: "Create token" }).click();
    const dialog = this.page.getByRole("dialog", { name: "Create API token" });
    await dialog.getByLabel("Name", { exact: true }).fill(name);
    for (const scope of scopes) await dialog.getByRole("checkbox", { name: new RegExp(`^${scope} `) }).check();
    await dialog.getByRole("button", { name: "Create token" }).click();
    await this.page.getByRole("dialog", { name: `Token ${name} created` }).waitFor();
    const token = await this.secret("API token");
    await this.page.getByRole("dialog").getByRole("button", { name: "Done" }).click();
    return token;
  }

  private row(name: string) {
    return this.page.locator(`tr[data-token="${name}"]`);
  }

  async revoke(name: string): Promise<void> {
    await this.row(name).getByRole("button", { name: "Revoke" }).click();
    await this.page
      .getByRole("dialog", { name: `Revoke token ${name}?` })
      .getByRole("button", { name: "Revoke token" })
      .click();
    await this.page.getByRole("dialog").waitFor({ state: "detached" });
  }

  statusOf(name: string): Promise<string> {
    return this.row(name).locator(".badge").innerText();
  }
}

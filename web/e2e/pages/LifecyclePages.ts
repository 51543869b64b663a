import type { Locator, Page } from "playwright-core";

/** The account page's password form. */
export class AccountPage {
  constructor(private readonly page: Page) {}

  form(): Locator {
    return this.page.getByRole("form", { name: "Change password" });
  }

  async changePassword(current: string, next: string): Promise<void> {
    const form = this.form();
    await form.getByLabel("Current password").fill(current);
    await form.getByLabel("New password", { exact: true }).fill(next);
    await form.getByLabel("New password again").fill(next);
    await form.getByRole("button", { name: "Change password" }).click();
  }
}

/** The environment page's "Delete…" dialog. */
export class DeleteEnvironmentDialog {
  constructor(private readonly page: Page) {}

  async open(): Promise<Locator> {
    await this.page.getByRole("button", { name: "Delete…" }).click();
    const dialog = this.page.getByRole("dialog", { name: /^Delete environment/ });
    await dialog.waitFor();
    return dialog;
  }
}

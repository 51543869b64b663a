import type { Page } from "playwright-core";

/** The header every signed-in page shares. */
export class Shell {
  constructor(protected readonly page: Page) {}

  async navigate(label: "Stacks" | "Clusters" | "Git credentials" | "API tokens" | "Users" | "Audit"): Promise<void> {
    await this.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: label }).click();
    await this.page.getByRole("heading", { level: 1 }).first().waitFor();
  }

  async logout(): Promise<void> {
    await this.page.getByRole("button", { name: "Log out" }).click();
    await this.page.getByRole("form", { name: "Log in" }).waitFor();
  }

  /** Reads a one-time secret shown in a dialog (registration token, API token). */
  secret(label: string): Promise<string> {
    return this.page.getByTestId(`secret-${label}`).innerText();
  }
}

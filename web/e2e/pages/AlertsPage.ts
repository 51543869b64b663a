import type { Locator, Page } from "playwright-core";

/** The org's Alerts page: the alert history with acknowledge and silence, and the rules. */
export class AlertsPage {
  constructor(private readonly page: Page) {}

  async open(): Promise<void> {
    await this.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Alerts" }).click();
    await this.page.getByRole("heading", { name: "Alerts", level: 1 }).waitFor();
  }

  alert(id: string): Locator {
    return this.page.locator(`tr[data-alert="${id}"]`);
  }

  rule(name: string): Locator {
    return this.page.locator(`tr[data-rule="${name}"]`);
  }

  async acknowledge(id: string): Promise<void> {
    await this.alert(id).getByRole("button", { name: "Acknowledge" }).click();
  }

  async silence(id: string): Promise<void> {
    await this.alert(id).getByRole("button", { name: "Silence 1 h" }).click();
  }
}

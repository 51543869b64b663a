import type { Locator, Page } from "playwright-core";

/** The org's Notifications page: endpoints, the add dialog and an endpoint's delivery log. */
export class NotificationsPage {
  constructor(private readonly page: Page) {}

  async open(): Promise<void> {
    await this.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Notifications" }).click();
    await this.page.getByRole("heading", { name: "Notifications", level: 1 }).waitFor();
  }

  /** Fills and submits the add dialog; returns the signing secret it shows once. */
  async add(input: { name: string; url: string; slack?: boolean; alsoEvents?: string[] }): Promise<string> {
    await this.page.getByRole("button", { name: "Add endpoint" }).click();
    const dialog = this.page.getByRole("dialog", { name: "Add notification endpoint" });
    await dialog.getByLabel("Name").fill(input.name);
    await dialog.getByLabel("URL").fill(input.url);
    if (input.slack) await dialog.getByLabel("Format").selectOption("slack");
    for (const label of input.alsoEvents ?? []) await dialog.getByLabel(label).check();
    await dialog.getByRole("button", { name: "Add endpoint" }).click();
    const created = this.page.getByRole("dialog", { name: `Endpoint ${input.name} added` });
    const secret = await created.getByTestId("secret-Signing secret").innerText();
    await created.getByRole("button", { name: "Done" }).click();
    return secret;
  }

  /** The add dialog's refusal, shown whole. */
  async addRefused(input: { name: string; url: string }): Promise<string> {
    await this.page.getByRole("button", { name: "Add endpoint" }).click();
    const dialog = this.page.getByRole("dialog", { name: "Add notification endpoint" });
    await dialog.getByLabel("Name").fill(input.name);
    await dialog.getByLabel("URL").fill(input.url);
    await dialog.getByRole("button", { name: "Add endpoint" }).click();
    const text = await dialog.getByRole("alert").innerText();
    await dialog.getByRole("button", { name: "Cancel" }).click();
    return text;
  }

  row(name: string): Locator {
    return this.page.locator(`tr[data-endpoint="${name}"]`);
  }

  async sendTest(name: string): Promise<void> {
    await this.row(name).getByRole("button", { name: "Send test" }).click();
  }

  deliveries(name: string): Locator {
    return this.page.getByRole("region", { name: `Deliveries to ${name}` });
  }
}

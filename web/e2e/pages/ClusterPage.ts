import type { Locator, Page } from "playwright-core";
import { Shell } from "./Shell.js";

/** A cluster's page: its security warnings and its activity feed. */
export class ClusterPage extends Shell {
  constructor(page: Page) {
    super(page);
  }

  warnings(): Locator {
    return this.page.getByRole("alert", { name: "Security warnings" });
  }

  activityRows(): Locator {
    return this.page.getByRole("region", { name: "Activity" }).getByTestId("activity-row");
  }

  /** Waits until a row of the activity feed contains `text`, without reloading (the feed refreshes itself). */
  async waitForActivity(text: string, timeoutMs = 15_000): Promise<string> {
    const row = this.activityRows().filter({ hasText: text }).first();
    await row.waitFor({ timeout: timeoutMs });
    return row.innerText();
  }

  async acknowledge(code: string): Promise<void> {
    const item = this.warnings().getByRole("listitem").filter({ hasText: code });
    await item.getByRole("button", { name: "Acknowledge" }).click();
    await item.waitFor({ state: "detached" });
  }
}

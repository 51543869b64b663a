import type { Page } from "playwright-core";
import { Shell } from "./Shell.js";

export class AuditPage extends Shell {
  constructor(page: Page) {
    super(page);
  }

  async filterByAction(action: string): Promise<void> {
    const form = this.page.getByRole("form", { name: "Audit filters" });
    await form.getByLabel("Action").fill(action);
    await form.getByRole("button", { name: "Apply" }).click();
    await this.page.waitForURL((url) => url.searchParams.get("action") === action);
  }

  /** The actions of the rows on screen, newest first. */
  async actions(): Promise<string[]> {
    await this.page.locator("table.audit, .empty").first().waitFor();
    return this.page
      .locator("tr[data-action]")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-action") ?? ""));
  }

  /**
   * The actions once they are `expected`, or what is on screen after `timeoutMs`: a filter just applied may show
   * the previous answer (or none) for a moment while the new one loads and live updates revalidate it.
   */
  async actionsOnceEqual(expected: string[], timeoutMs = 10_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = await this.actions();
      if (JSON.stringify(got) === JSON.stringify(expected) || Date.now() > deadline) return got;
      await this.page.waitForTimeout(200);
    }
  }
}

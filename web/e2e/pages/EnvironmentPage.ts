import type { Page } from "playwright-core";
import { Shell } from "./Shell.js";

export class EnvironmentPage extends Shell {
  constructor(page: Page) {
    super(page);
  }

  async saveOverlay(variables: string, composePatchYaml: string): Promise<void> {
    const form = this.page.getByRole("form", { name: "Overlay" });
    await form.getByLabel("Variables").fill(variables);
    await form.getByLabel("Compose patch (YAML)").fill(composePatchYaml);
    await form.getByRole("button", { name: "Save overlay" }).click();
    await form.getByText("Saved.").waitFor();
  }

  async addSecret(name: string, value: string, services: string): Promise<void> {
    await this.page.getByRole("button", { name: "Add secret" }).click();
    const dialog = this.page.getByRole("dialog", { name: "Add secret" });
    await dialog.getByLabel("Name", { exact: true }).fill(name);
    await dialog.getByLabel("Value", { exact: true }).fill(value);
    await dialog.getByLabel("Services", { exact: true }).fill(services);
    await dialog.getByRole("button", { name: "Add secret" }).click();
    await dialog.waitFor({ state: "detached" });
  }

  async rotateSecret(name: string, value: string): Promise<void> {
    await this.page.locator(`tr[data-secret="${name}"]`).getByRole("button", { name: "Rotate" }).click();
    const dialog = this.page.getByRole("dialog", { name: `Rotate ${name}` });
    await dialog.getByLabel("New value").fill(value);
    await dialog.getByRole("button", { name: "Rotate secret" }).click();
    await dialog.waitFor({ state: "detached" });
  }

  async deleteSecret(name: string): Promise<void> {
    await this.page.locator(`tr[data-secret="${name}"]`).getByRole("button", { name: "Delete" }).click();
    await this.page.getByRole("dialog").getByRole("button", { name: "Delete secret" }).click();
    await this.page.locator(`tr[data-secret="${name}"]`).waitFor({ state: "detached" });
  }

  secretVersion(name: string): Promise<string> {
    return this.page.locator(`tr[data-secret="${name}"] td:nth-child(3)`).innerText();
  }

  /** Opens the diff of `version` against what is deployed. */
  async compareWith(version: number): Promise<void> {
    await this.page.getByLabel("Release to compare").selectOption({ label: `release v${version}` });
    await this.page.getByRole("link", { name: "Show diff" }).click();
    await this.page.getByRole("heading", { name: /^Services:/ }).waitFor();
  }

  /** Lines of the unified diff with their kind (add, del, ctx, hunk, meta). */
  async diffLines(): Promise<Array<{ kind: string; text: string }>> {
    return this.page
      .locator(".diff .code-line")
      .evaluateAll((lines) =>
        lines.map((l) => ({ kind: l.getAttribute("data-kind") ?? "", text: l.lastElementChild?.textContent ?? "" })),
      );
  }

  serviceChanges(): Promise<string[]> {
    return this.page.locator(".service-diff > li").allInnerTexts();
  }
}

import type { Page } from "playwright-core";

export class LoginPage {
  constructor(
    private readonly page: Page,
    private readonly baseUrl: string,
  ) {}

  async goto(path = "/"): Promise<void> {
    await this.page.goto(this.baseUrl + path);
    await this.page.getByRole("form", { name: "Log in" }).waitFor();
  }

  async submit(email: string, password: string): Promise<void> {
    const form = this.page.getByRole("form", { name: "Log in" });
    await form.getByLabel("Email").fill(email);
    await form.getByLabel("Password").fill(password);
    await form.getByRole("button", { name: "Log in" }).click();
  }

  /** Logs in and waits for the first page of the app. */
  async login(email: string, password: string): Promise<void> {
    await this.submit(email, password);
    await this.page.getByRole("navigation", { name: "Main" }).waitFor();
  }

  alert(): Promise<string> {
    return this.page.getByRole("alert").innerText();
  }
}

import type { Locator, Page } from "playwright-core";

/** The account page's MFA card. */
export class MfaCard {
  constructor(private readonly page: Page) {}

  section(): Locator {
    return this.page.getByRole("region", { name: "Two-factor authentication" });
  }

  async start(): Promise<void> {
    await this.section().getByRole("button", { name: "Set up MFA" }).click();
  }
}

/** The enrolment form (account page and the login's forced enrolment): the key shown, then a first code. */
export class MfaEnrollmentForm {
  constructor(private readonly page: Page) {}

  form(): Locator {
    return this.page.getByRole("form", { name: "Set up MFA" });
  }

  /** The base32 key as shown (grouped by four), without its spaces. */
  async secret(): Promise<string> {
    return (await this.form().getByTestId("mfa-secret").innerText()).replace(/\s+/g, "");
  }

  async qrShown(): Promise<boolean> {
    const img = this.form().getByAltText("QR code of the MFA secret");
    await img.waitFor();
    return (await img.getAttribute("src"))?.startsWith("data:image/svg+xml") ?? false;
  }

  async confirm(code: string): Promise<void> {
    await this.form().getByLabel("Code from your app").fill(code);
    await this.form().getByRole("button", { name: "Turn on MFA" }).click();
  }

  /** The recovery codes shown once after the confirmation, then acknowledged with `doneLabel`. */
  async keepRecoveryCodes(doneLabel: string): Promise<string[]> {
    const region = this.page.getByRole("region", { name: "Recovery codes" });
    const codes = (await region.getByTestId("recovery-codes").innerText()).split("\n").filter((l) => l.trim());
    await region.getByRole("button", { name: doneLabel }).click();
    return codes;
  }
}

/** The login's second step. */
export class MfaCodeStep {
  constructor(private readonly page: Page) {}

  form(): Locator {
    return this.page.getByRole("form", { name: "Two-factor code" });
  }

  async submit(code: string): Promise<void> {
    await this.form().getByLabel("Code").fill(code);
    await this.form().getByRole("button", { name: "Verify" }).click();
  }
}

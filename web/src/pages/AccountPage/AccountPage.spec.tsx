import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { expect } from "chai";
import { ApiClient } from "../../api/client.js";
import { apiError, fakeFetch, json, memoryStore, tokenPair, type RecordedRequest } from "../../../test/fake-fetch.js";
import { renderApp } from "../../../test/render.js";

const ORG = "11111111-1111-4111-8111-111111111111";
const user = { id: "u1", orgId: ORG, email: "ops@acme.test", role: "VIEWER", createdAt: "", lastLoginAt: null };
const me = {
  user,
  org: { id: ORG, name: "acme", createdAt: "" },
  role: "VIEWER",
  permissions: ["clusters:read", "stacks:read"],
  actorType: "user",
  tokenId: null,
  orgs: [{ id: ORG, name: "acme", role: "VIEWER", userId: "u1" }],
};

const MFA_OFF = { enabled: false, pending: false, confirmedAt: null, recoveryCodesRemaining: 0, requiredByOrg: false };
const SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const CODES = Array.from({ length: 10 }, (_, i) => `aaaa-bbbb-cccc-dd${String(i).padStart(2, "0")}`);
let mfa: Omit<typeof MFA_OFF, "confirmedAt"> & { confirmedAt: string | null } = MFA_OFF;

function backend(req: RecordedRequest) {
  if (req.path === "/v1/auth/refresh") return json(200, tokenPair(2));
  if (req.path === "/v1/auth/me") return json(200, me);
  if (req.path === "/v1/auth/mfa") return json(200, mfa);
  if (req.path === "/v1/auth/mfa/enrollment") {
    mfa = { ...mfa, pending: true };
    return json(200, { secret: SECRET, otpauthUri: `otpauth://totp/Stackyard:ops?secret=${SECRET}&issuer=Stackyard` });
  }
  if (req.path === "/v1/auth/mfa/enrollment/confirm") {
    if ((req.body as { code: string }).code !== "123456") return apiError(403, "MFA_INVALID_CODE");
    mfa = { ...mfa, enabled: true, pending: false, confirmedAt: new Date().toISOString(), recoveryCodesRemaining: 10 };
    return json(200, { recoveryCodes: CODES });
  }
  if (req.path === "/v1/auth/mfa/disable") {
    mfa = MFA_OFF;
    return json(200, mfa);
  }
  if (req.path === "/v1/auth/password") {
    const body = req.body as { currentPassword: string };
    return body.currentPassword === "right one"
      ? json(200, { sessionsRevoked: 3 })
      : apiError(403, "CURRENT_PASSWORD_INCORRECT");
  }
  return apiError(404, "NOT_FOUND");
}

function fill(current: string, next: string, repeat = next) {
  fireEvent.change(screen.getByLabelText("Current password"), { target: { value: current } });
  fireEvent.change(screen.getByLabelText("New password"), { target: { value: next } });
  fireEvent.change(screen.getByLabelText("New password again"), { target: { value: repeat } });
}

describe("AccountPage", () => {
  beforeEach(() => {
    mfa = MFA_OFF;
  });

  it("sets MFA up: QR code and key, a refused code shown, the recovery codes once, then MFA on; turns it off", async () => {
    const { fetch, calls } = fakeFetch(backend);
    renderApp(new ApiClient({ store: memoryStore("refresh-1"), fetch }), `/orgs/${ORG}/account`);
    const section = await screen.findByRole("region", { name: "Two-factor authentication" });
    await within(section).findByText("off");
    fireEvent.click(within(section).getByRole("button", { name: "Set up MFA" }));
    const form = await within(section).findByRole("form", { name: "Set up MFA" });
    expect(within(form).getByTestId("mfa-secret").textContent).to.equal("JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP");
    const qr = (await within(form).findByAltText("QR code of the MFA secret")) as HTMLImageElement;
    expect(qr.src).to.match(/^data:image\/svg\+xml/);
    fireEvent.change(within(form).getByLabelText("Code from your app"), { target: { value: "000000" } });
    fireEvent.click(within(form).getByRole("button", { name: "Turn on MFA" }));
    expect((await within(form).findByRole("alert")).textContent).to.contain("MFA_INVALID_CODE");
    fireEvent.change(within(form).getByLabelText("Code from your app"), { target: { value: "123456" } });
    fireEvent.click(within(form).getByRole("button", { name: "Turn on MFA" }));
    const codes = await within(section).findByTestId("recovery-codes");
    expect(codes.textContent).to.contain(CODES[0]).and.to.contain(CODES[9]);
    fireEvent.click(within(section).getByRole("button", { name: "I saved them" }));
    await within(section).findByText(/10 unused recovery code/);
    expect(within(section).queryByTestId("recovery-codes")).to.equal(null);

    fireEvent.change(within(section).getByLabelText("Code from your app, or a recovery code"), {
      target: { value: "654321" },
    });
    fireEvent.click(within(section).getByRole("button", { name: "Turn off MFA" }));
    await within(section).findByRole("button", { name: "Set up MFA" });
    expect(calls.filter((c) => c.path.startsWith("/v1/auth/mfa/")).map((c) => [c.path, c.body])).to.deep.equal([
      ["/v1/auth/mfa/enrollment", undefined],
      ["/v1/auth/mfa/enrollment/confirm", { code: "000000" }],
      ["/v1/auth/mfa/enrollment/confirm", { code: "123456" }],
      ["/v1/auth/mfa/disable", { code: "654321" }],
    ]);
  });

  it("shows a refused change whole (message and code), then a successful one with the sessions it ended", async () => {
    const { fetch, calls } = fakeFetch(backend);
    renderApp(new ApiClient({ store: memoryStore("refresh-1"), fetch }), `/orgs/${ORG}/account`);
    await screen.findByRole("form", { name: "Change password" });
    fill("wrong", "a long new passphrase");
    fireEvent.click(screen.getByRole("button", { name: "Change password" }));
    const passwordForm = screen.getByRole("form", { name: "Change password" });
    const alert = await within(passwordForm).findByRole("alert");
    expect(alert.textContent).to.contain("CURRENT_PASSWORD_INCORRECT message");
    expect(alert.textContent).to.contain("Code: CURRENT_PASSWORD_INCORRECT");
    expect(alert.textContent).to.not.contain("permission");
    fill("right one", "a long new passphrase");
    fireEvent.click(screen.getByRole("button", { name: "Change password" }));
    expect((await within(passwordForm).findByRole("status")).textContent).to.contain(
      "3 other session(s) were logged out",
    );
    const posts = calls.filter((c) => c.path === "/v1/auth/password");
    expect(posts.map((c) => c.body)).to.deep.equal([
      { currentPassword: "wrong", newPassword: "a long new passphrase" },
      { currentPassword: "right one", newPassword: "a long new passphrase" },
    ]);
  });

  it("does not send two new passwords that differ", async () => {
    const { fetch, calls } = fakeFetch(backend);
    renderApp(new ApiClient({ store: memoryStore("refresh-1"), fetch }), `/orgs/${ORG}/account`);
    await screen.findByRole("form", { name: "Change password" });
    fill("right one", "a long new passphrase", "a long new passphrasf");
    const passwordForm = screen.getByRole("form", { name: "Change password" });
    expect((await within(passwordForm).findByRole("alert")).textContent).to.contain("differ");
    expect((screen.getByRole("button", { name: "Change password" }) as HTMLButtonElement).disabled).to.equal(true);
    await waitFor(() => expect(calls.some((c) => c.path === "/v1/auth/password")).to.equal(false));
  });
});

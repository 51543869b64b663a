import { fireEvent, screen } from "@testing-library/react";
import { expect } from "chai";
import { ApiError } from "../../api/client.js";
import type { GitCredential } from "../../api/types.js";
import type { AsyncState } from "../../components/AsyncContent.js";
import { renderInRouter } from "../../../test/render.js";
import { GitReleaseDialog } from "../StackPage/StackDialogs.js";
import { GitCredentialsView } from "./GitCredentialsView.js";

const now = new Date().toISOString();
const deployKey: GitCredential = {
  id: "g1",
  name: "app-key",
  type: "ssh",
  publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq8B4s stackyard-app-key",
  keyFingerprint: "SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
  username: null,
  hostKeys: [
    { host: "github.com", keyType: "ssh-ed25519", fingerprint: "SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU" },
  ],
  createdBy: null,
  createdAt: now,
  updatedAt: now,
};
const token: GitCredential = {
  ...deployKey,
  id: "g2",
  name: "gitlab-token",
  type: "https",
  publicKey: null,
  keyFingerprint: null,
  username: "oauth2",
  hostKeys: [],
};

function show(state: Partial<AsyncState<GitCredential[]>>, canWrite = true) {
  const calls = { created: 0, trusted: [] as string[], deleted: [] as string[], retried: 0 };
  renderInRouter(
    <GitCredentialsView
      state={{ data: undefined, error: undefined, isLoading: false, onRetry: () => calls.retried++, ...state }}
      canWrite={canWrite}
      onCreate={() => calls.created++}
      onTrustHost={(c) => calls.trusted.push(c.name)}
      onDelete={(c) => calls.deleted.push(c.name)}
    />,
  );
  return calls;
}

describe("GitCredentialsView", () => {
  it("shows loading, errors with a retry, and the empty state", () => {
    show({ isLoading: true });
    expect(screen.getByRole("status").textContent).to.contain("Loading git credentials");
  });

  it("explains an error and retries on demand", () => {
    const calls = show({ error: new ApiError(500, "INTERNAL", "internal error") });
    fireEvent.click(screen.getByRole("button", { name: "Retry" }));
    expect(calls.retried).to.equal(1);
  });

  it("says public repositories need none when empty", () => {
    show({ data: [] });
    expect(screen.getByText(/No git credentials yet/)).to.exist;
  });

  it("shows a deploy key's public key with a copy button, its fingerprint and the trusted host keys", () => {
    const calls = show({ data: [deployKey, token] });
    expect(screen.getByTestId("public-key-app-key").textContent).to.equal(deployKey.publicKey);
    expect(screen.getByRole("button", { name: "Copy public key" })).to.exist;
    expect(screen.getByText(deployKey.keyFingerprint!)).to.exist;
    expect(screen.getByText("SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU")).to.exist;
    expect(screen.getByText("oauth2")).to.exist;
    fireEvent.click(screen.getByRole("button", { name: "Trust a host" }));
    expect(calls.trusted).to.deep.equal(["app-key"]);
    fireEvent.click(screen.getAllByRole("button", { name: "Delete" })[1]!);
    expect(calls.deleted).to.deep.equal(["gitlab-token"]);
  });

  it("offers no changes without secrets:write", () => {
    show({ data: [deployKey] }, false);
    expect(screen.queryByRole("button", { name: "Delete" })).to.equal(null);
    expect(screen.queryByRole("button", { name: "Trust a host" })).to.equal(null);
  });
});

describe("GitReleaseDialog", () => {
  it("offers the credentials fitting the URL's scheme and sends the chosen one", () => {
    const submitted: unknown[] = [];
    renderInRouter(
      <GitReleaseDialog
        credentials={[deployKey, token]}
        credentialsError={undefined}
        busy={false}
        error={new ApiError(409, "GIT_HOST_KEY_MISMATCH", "the SSH host key of github.com does not match")}
        onSubmit={(input) => submitted.push(input)}
        onClose={() => {}}
      />,
    );
    expect(screen.getByRole("alert").textContent).to.contain("does not match");
    fireEvent.change(screen.getByLabelText("Repository URL"), { target: { value: "git@github.com:acme/app.git" } });
    const select = screen.getByLabelText("Credential") as HTMLSelectElement;
    expect([...select.options].map((o) => o.textContent)).to.deep.equal([
      "Choose a deploy key",
      "app-key (SSH deploy key)",
    ]);
    const create = screen.getByRole("button", { name: "Create release" }) as HTMLButtonElement;
    expect(create.disabled, "an SSH URL needs a deploy key").to.equal(true);
    fireEvent.change(select, { target: { value: "g1" } });
    fireEvent.click(create);
    expect(submitted).to.deep.equal([
      { repoUrl: "git@github.com:acme/app.git", ref: "main", path: "compose.yml", credentialId: "g1" },
    ]);
  });
});

import { fireEvent, screen } from "@testing-library/react";
import { expect } from "chai";
import { ApiError } from "../../api/client.js";
import type {
  ClusterComposePolicy,
  ComposePolicy,
  ComposePolicyInput,
  ComposePolicyOverrideInput,
} from "../../api/types.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { renderInRouter } from "../../../test/render.js";
import { ClusterPolicyPanel } from "../ClusterPage/ClusterPolicyPanel.js";
import { ComposePolicyView } from "./ComposePolicyView.js";

const ALL_ON = {
  privileged: true,
  "cap-add": true,
  "docker-socket": true,
  "root-bind": true,
  "host-network": true,
  "host-pid": true,
  "host-ipc": true,
  devices: true,
  "manager-placement": true,
};
const policy: ComposePolicy = {
  rules: { ...ALL_ON, "cap-add": false },
  bindAllowList: ["/srv/app"],
  alwaysEnforced: ["local-file", "env-file", "bind-mount"],
  updatedAt: new Date().toISOString(),
  updatedBy: null,
};
const state = <T,>(data: T | undefined, error?: unknown) => ({
  data,
  error,
  isLoading: false,
  onRetry: () => undefined,
});

describe("ComposePolicyView", () => {
  it("shows each rule as enforced or lifted and saves the edited policy with the allow-list", () => {
    const saved: ComposePolicyInput[] = [];
    renderInRouter(
      <ComposePolicyView
        state={state(policy)}
        canWrite
        saving={false}
        saveError={undefined}
        saved={false}
        onSave={(i) => saved.push(i)}
      />,
    );
    const privileged = screen.getByRole("checkbox", { name: /privileged: true/ }) as HTMLInputElement;
    const capAdd = screen.getByRole("checkbox", { name: /cap_add/ }) as HTMLInputElement;
    expect(privileged.checked).to.equal(true);
    expect(capAdd.checked).to.equal(false);
    fireEvent.click(privileged);
    fireEvent.change(screen.getByLabelText("Bind-mount allow-list"), {
      target: { value: "/srv/app\n /data \n\n/srv/app" },
    });
    fireEvent.click(screen.getByRole("button", { name: "Save policy" }));
    expect(saved).to.have.length(1);
    expect(saved[0]!.rules).to.include({ privileged: false, "cap-add": false, devices: true });
    expect(saved[0]!.bindAllowList).to.deep.equal(["/srv/app", "/data"]);
  });

  it("is read-only without clusters:write, and says why", () => {
    renderInRouter(
      <ComposePolicyView
        state={state(policy)}
        canWrite={false}
        saving={false}
        saveError={undefined}
        saved={false}
        onSave={() => undefined}
      />,
    );
    const button = screen.getByRole("button", { name: "Save policy" });
    expect(button.hasAttribute("disabled")).to.equal(true);
    expect(button.getAttribute("title")).to.contain("clusters:write");
  });

  it("lists every policy violation of a refused upload with its path and rule", () => {
    const error = new ApiError(
      422,
      "COMPOSE_POLICY_VIOLATION",
      "the compose file violates the compose policy of the org",
      {
        violations: [
          {
            rule: "privileged",
            path: "services.web.privileged",
            message: "privileged containers have full access to the host",
          },
          {
            rule: "bind-mount",
            path: "services.web.volumes[0]",
            message: 'the bind source "/etc" is not under the allow-list (empty)',
          },
        ],
      },
    );
    renderInRouter(<ErrorNotice error={error} />);
    const items = screen.getAllByRole("listitem").map((li) => li.textContent);
    expect(items).to.deep.equal([
      "services.web.privileged privileged privileged containers have full access to the host",
      'services.web.volumes[0] bind-mount the bind source "/etc" is not under the allow-list (empty)',
    ]);
    expect(screen.getByRole("alert").textContent).to.contain("breaks the compose policy");
  });
});

describe("ClusterPolicyPanel", () => {
  const cluster: ClusterComposePolicy = {
    clusterId: "c1",
    override: { rules: { privileged: false }, bindAllowList: null },
    effective: { rules: { ...ALL_ON, privileged: false }, bindAllowList: ["/srv/app"] },
    updatedAt: new Date().toISOString(),
    updatedBy: null,
  };

  it("shows the override and the policy in effect, and saves per-rule choices and an own allow-list", () => {
    const saved: ComposePolicyOverrideInput[] = [];
    renderInRouter(
      <ClusterPolicyPanel
        state={state(cluster)}
        orgPolicyHref="/orgs/o1/settings/compose-policy"
        canWrite
        saving={false}
        saveError={undefined}
        onSave={(i) => saved.push(i)}
      />,
    );
    const privileged = screen.getByLabelText("privileged on this cluster") as HTMLSelectElement;
    expect(privileged.value).to.equal("lift");
    expect(privileged.closest("tr")?.textContent).to.contain("allowed");
    expect(screen.getByText(/Allowed bind sources \(the org's\): \/srv\/app/)).to.exist;
    fireEvent.change(privileged, { target: { value: "inherit" } });
    fireEvent.change(screen.getByLabelText("devices on this cluster"), { target: { value: "lift" } });
    fireEvent.click(screen.getByRole("checkbox", { name: /its own bind-mount allow-list/ }));
    fireEvent.change(screen.getByLabelText("Bind-mount allow-list of this cluster"), { target: { value: "/data" } });
    fireEvent.click(screen.getByRole("button", { name: "Save cluster policy" }));
    expect(saved).to.deep.equal([{ rules: { devices: false }, bindAllowList: ["/data"] }]);
  });
});

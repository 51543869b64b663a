import { fireEvent, screen, waitFor } from "@testing-library/react";
import { expect } from "chai";
import { ApiError } from "../../api/client.js";
import { renderInRouter } from "../../../test/render.js";
import { ServiceActions } from "./ServiceActions.js";

function show(over: Partial<Parameters<typeof ServiceActions>[0]> = {}) {
  const ran: string[] = [];
  renderInRouter(
    <ServiceActions
      service="web"
      canWrite
      disabledReason={null}
      busy={false}
      error={undefined}
      result={undefined}
      onRun={async (a) => {
        ran.push(a);
        return undefined;
      }}
      onReset={() => {}}
      {...over}
    />,
  );
  return ran;
}

describe("ServiceActions", () => {
  it("confirms a rollback, saying it may leave the service apart from the release, then runs it", async () => {
    const ran = show();
    fireEvent.click(screen.getByRole("button", { name: "Roll back" }));
    expect(screen.getByRole("dialog").textContent).to.contain("shows drift until the next deploy");
    fireEvent.click(screen.getByRole("button", { name: "Roll back service" }));
    await waitFor(() => expect(ran).to.deep.equal(["rollback"]));
  });

  it("shows a refusal whole, with its code", () => {
    show({ error: new ApiError(409, "SERVICE_NO_PREVIOUS_SPEC", "web has no previous spec: it was never updated") });
    fireEvent.click(screen.getByRole("button", { name: "Restart" }));
    expect(screen.getByRole("alert").textContent).to.contain("web has no previous spec: it was never updated");
  });

  it("is off, with the reason, while the agent is offline, and without deployments:write", () => {
    show({ disabledReason: "unknown (agent offline since 10:02)" });
    const restart = screen.getByRole("button", { name: "Restart" });
    expect(restart.hasAttribute("disabled")).to.equal(true);
    expect(restart.parentElement?.getAttribute("title")).to.equal("unknown (agent offline since 10:02)");
  });

  it("says what was accepted and what happens next", () => {
    show({
      result: {
        environmentId: "e",
        service: "web",
        swarmService: "shop-prod_web",
        action: "restart",
        image: "x",
        note: "every task is being replaced with the same spec; follow them on the service page",
      },
    });
    expect(screen.getByRole("status").textContent).to.contain("Restart of shop-prod_web accepted");
  });
});

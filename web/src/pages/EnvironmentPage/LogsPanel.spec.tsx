import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { expect } from "chai";
import { ApiClient } from "../../api/client.js";
import { ApiProvider } from "../../api/hooks/context.js";
import { apiError, fakeFetch, memoryStore, sseResponse, type Handler } from "../../../test/fake-fetch.js";
import { LogsPanel } from "./LogsPanel.js";

const ENV = "6f0c8a52-0000-4000-8000-00000000e001";
const NOW = Date.parse("2026-12-03T12:00:00Z");
const event = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;

function show(handler: Handler) {
  const { fetch, calls } = fakeFetch(handler);
  const client = new ApiClient({ store: memoryStore(), fetch });
  render(
    <ApiProvider client={client} swr={{ provider: () => new Map(), dedupingInterval: 0 }}>
      <LogsPanel envId={ENV} now={() => NOW} />
    </ApiProvider>,
  );
  return calls;
}

describe("LogsPanel", () => {
  it("searches with the filters and shows the merged lines of each service, saying when lines were left out", async () => {
    const calls = show(
      () =>
        sseResponse([
          event("open", { services: ["web", "worker"] }),
          event("line", {
            ts: "2026-12-03T11:30:00.1Z",
            service: "worker",
            task: "x2v7kq1c9d8e7f6g5h4j3k2l1",
            node: "n1",
            stream: "stderr",
            line: "job timeout after 30s",
          }),
          event("line", {
            ts: "2026-12-03T11:31:00Z",
            service: "web",
            task: null,
            node: null,
            stream: "stdout",
            line: "upstream TIMEOUT",
          }),
          event("end", { count: 2, truncated: true }),
        ]).response,
    );
    fireEvent.change(screen.getByLabelText("Text"), { target: { value: " timeout " } });
    fireEvent.change(screen.getByLabelText("Services"), { target: { value: "web, worker" } });
    fireEvent.click(screen.getByRole("button", { name: "Search" }));

    await waitFor(() => expect(document.querySelectorAll("tbody tr")).to.have.length(2));
    const rows = [...document.querySelectorAll("tbody tr")].map((tr) =>
      [...tr.querySelectorAll("td")].map((td) => td.textContent),
    );
    expect(rows).to.deep.equal([
      ["2026-12-03T11:30:00.1Z", "worker", "x2v7kq1c9d8e", "job timeout after 30s"],
      ["2026-12-03T11:31:00Z", "web", "", "upstream TIMEOUT"],
    ]);
    expect(screen.getByText(/2 lines from web, worker · more lines matched/)).to.exist;
    const sent = new URLSearchParams(calls[0]!.search);
    expect(calls[0]!.path).to.equal(`/v1/environments/${ENV}/logs`);
    expect(sent.get("q")).to.equal("timeout");
    expect(sent.getAll("service")).to.deep.equal(["web", "worker"]);
    // The default range: the last hour, to the minute.
    expect(Date.parse(sent.get("since")!)).to.equal(NOW - 3_600_000);
    expect(sent.has("until")).to.equal(false);
  });

  it("shows the API's refusal in full, and refuses a range that ends before it starts without asking", async () => {
    const calls = show(() => apiError(404, "SERVICE_NOT_FOUND"));
    fireEvent.change(screen.getByLabelText("To"), { target: { value: "2020-01-01T00:00" } });
    fireEvent.click(screen.getByRole("button", { name: "Search" }));
    expect(screen.getByText("“To” must be after “From”.")).to.exist;
    expect(calls).to.have.length(0);

    fireEvent.change(screen.getByLabelText("To"), { target: { value: "" } });
    fireEvent.change(screen.getByLabelText("Services"), { target: { value: "nope" } });
    fireEvent.click(screen.getByRole("button", { name: "Search" }));
    await waitFor(() => expect(screen.getByText("SERVICE_NOT_FOUND message")).to.exist);
    expect(screen.getByText("Not found")).to.exist;
  });
});

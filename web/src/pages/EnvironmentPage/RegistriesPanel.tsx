import { useState } from "react";
import type { RegistryCredential } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";

/** The registry credentials this environment's deploys use (one per registry), and attaching others. */
export function RegistriesPanel(props: {
  state: AsyncState<RegistryCredential[]>;
  /** The org's credentials, to pick from. */
  available: RegistryCredential[];
  canWrite: boolean;
  busy: boolean;
  error: unknown;
  onAttach: (credentialId: string) => void;
  onDetach: (credential: RegistryCredential) => void;
}) {
  const [picked, setPicked] = useState("");
  return (
    <>
      <div className="section-head">
        <h2>Registry credentials</h2>
      </div>
      <AsyncContent
        state={props.state}
        loadingLabel="Loading registry credentials…"
        isEmpty={(c) => c.length === 0}
        empty={<p className="muted">None: images are pulled without a login.</p>}
      >
        {(attached) => (
          <table className="table">
            <thead>
              <tr>
                <th>Registry</th>
                <th>Credential</th>
                <th>Username</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {attached.map((c) => (
                <tr key={c.id} data-registry={c.registry}>
                  <td className="mono">{c.registry}</td>
                  <td className="mono">{c.name}</td>
                  <td>{c.username}</td>
                  <td className="row-actions">
                    {props.canWrite && (
                      <button type="button" className="danger small" onClick={() => props.onDetach(c)}>
                        Detach
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </AsyncContent>
      {props.canWrite && (
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (picked) props.onAttach(picked);
          }}
        >
          <label>
            Attach
            <select name="credential" value={picked} onChange={(e) => setPicked(e.target.value)}>
              <option value="">Choose a credential…</option>
              {props.available
                .filter((c) => !(props.state.data ?? []).some((a) => a.id === c.id))
                .map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name} ({c.registry})
                  </option>
                ))}
            </select>
          </label>
          <button type="submit" className="secondary" disabled={!picked || props.busy}>
            {props.busy ? "Working…" : "Attach"}
          </button>
        </form>
      )}
      {props.error ? <ErrorNotice error={props.error} compact /> : null}
    </>
  );
}

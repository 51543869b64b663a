import { useState } from "react";
import { Link } from "react-router-dom";
import {
  COMPOSE_POLICY_RULES,
  type ClusterComposePolicy,
  type ComposePolicyOverrideInput,
  type ComposePolicyRule,
  type ComposePolicyRules,
} from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { Field } from "../../components/Field.js";
import { allowListText, parseAllowList } from "../ComposePolicyPage/policy-form.js";

type Choice = "inherit" | "enforce" | "lift";

const choiceOf = (rules: ComposePolicyRules, id: ComposePolicyRule): Choice =>
  rules[id] === undefined ? "inherit" : rules[id] ? "enforce" : "lift";

/** A cluster's override of the org's compose policy, and the policy in effect there. */
export function ClusterPolicyPanel(props: {
  state: AsyncState<ClusterComposePolicy>;
  orgPolicyHref: string;
  canWrite: boolean;
  saving: boolean;
  saveError: unknown;
  onSave: (input: ComposePolicyOverrideInput) => void;
}) {
  return (
    <section className="card">
      <h2>Compose policy on this cluster</h2>
      <p className="muted small">
        Each rule follows the <Link to={props.orgPolicyHref}>org's compose policy</Link> unless set here. Deployments to
        this cluster are checked against the policy in effect.
      </p>
      <AsyncContent state={props.state} loadingLabel="Loading the cluster's policy…">
        {(p) => <OverrideForm key={p.updatedAt ?? "none"} policy={p} {...props} />}
      </AsyncContent>
    </section>
  );
}

function OverrideForm(props: {
  policy: ClusterComposePolicy;
  canWrite: boolean;
  saving: boolean;
  saveError: unknown;
  onSave: (input: ComposePolicyOverrideInput) => void;
}) {
  const { override, effective } = props.policy;
  const [rules, setRules] = useState<ComposePolicyRules>(override.rules);
  const [ownList, setOwnList] = useState(override.bindAllowList !== null);
  const [allowList, setAllowList] = useState(allowListText(override.bindAllowList ?? effective.bindAllowList));
  const disabled = !props.canWrite || props.saving;
  const setChoice = (id: ComposePolicyRule, choice: Choice) => {
    const next: ComposePolicyRules = { ...rules };
    if (choice === "inherit") delete next[id];
    else next[id] = choice === "enforce";
    setRules(next);
  };
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        props.onSave({ rules, bindAllowList: ownList ? parseAllowList(allowList) : null });
      }}
    >
      <table className="table">
        <thead>
          <tr>
            <th>Rule</th>
            <th>On this cluster</th>
            <th>In effect</th>
          </tr>
        </thead>
        <tbody>
          {COMPOSE_POLICY_RULES.map((r) => (
            <tr key={r.id}>
              <td>
                <span className="badge">{r.id}</span> {r.label}
              </td>
              <td>
                <select
                  aria-label={`${r.id} on this cluster`}
                  value={choiceOf(rules, r.id)}
                  disabled={disabled}
                  onChange={(e) => setChoice(r.id, e.target.value as Choice)}
                >
                  <option value="inherit">as the org</option>
                  <option value="enforce">refuse</option>
                  <option value="lift">allow</option>
                </select>
              </td>
              <td>{effective.rules[r.id] ? "refused" : "allowed"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <label className="checkbox">
        <input type="checkbox" checked={ownList} disabled={disabled} onChange={(e) => setOwnList(e.target.checked)} />{" "}
        This cluster has its own bind-mount allow-list
      </label>
      {ownList ? (
        <Field label="Bind-mount allow-list of this cluster" hint="One absolute host path per line.">
          <textarea
            className="code"
            rows={3}
            value={allowList}
            disabled={disabled}
            onChange={(e) => setAllowList(e.target.value)}
          />
        </Field>
      ) : (
        <p className="muted small">
          Allowed bind sources (the org's):{" "}
          {effective.bindAllowList.length > 0 ? effective.bindAllowList.join(", ") : "none"}
        </p>
      )}
      {props.saveError ? <ErrorNotice error={props.saveError} compact /> : null}
      <div className="actions">
        <button
          type="submit"
          disabled={disabled}
          title={props.canWrite ? undefined : "Needs the clusters:write permission"}
        >
          {props.saving ? "Saving…" : "Save cluster policy"}
        </button>
      </div>
    </form>
  );
}

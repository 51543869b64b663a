import { useState } from "react";
import {
  ALWAYS_ENFORCED_RULES,
  COMPOSE_POLICY_RULES,
  type ComposePolicy,
  type ComposePolicyInput,
  type ComposePolicyRules,
} from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { Field } from "../../components/Field.js";
import { PageHeader } from "../../components/PageHeader.js";
import { formatDateTime } from "../../components/RelativeTime.js";
import { allowListText, parseAllowList } from "./policy-form.js";

/** The org's compose policy: which optional rules are enforced, and the bind-mount allow-list. */
export function ComposePolicyView(props: {
  state: AsyncState<ComposePolicy>;
  canWrite: boolean;
  saving: boolean;
  saveError: unknown;
  saved: boolean;
  onSave: (input: ComposePolicyInput) => void;
}) {
  return (
    <>
      <PageHeader
        title="Compose policy"
        subtitle="What a compose file may do on the cluster's hosts. Checked at release upload and again before each deployment; a cluster can override it on its own page."
      />
      <AsyncContent state={props.state} loadingLabel="Loading the compose policy…">
        {(policy) => <PolicyForm key={policy.updatedAt ?? "defaults"} policy={policy} {...props} />}
      </AsyncContent>
    </>
  );
}

function PolicyForm(props: {
  policy: ComposePolicy;
  canWrite: boolean;
  saving: boolean;
  saveError: unknown;
  saved: boolean;
  onSave: (input: ComposePolicyInput) => void;
}) {
  const [rules, setRules] = useState<ComposePolicyRules>(props.policy.rules);
  const [allowList, setAllowList] = useState(allowListText(props.policy.bindAllowList));
  const disabled = !props.canWrite || props.saving;
  return (
    <form
      className="card"
      onSubmit={(e) => {
        e.preventDefault();
        props.onSave({ rules, bindAllowList: parseAllowList(allowList) });
      }}
    >
      <h2>Always refused</h2>
      <ul>
        {ALWAYS_ENFORCED_RULES.map((r) => (
          <li key={r.id}>
            <span className="badge">{r.id}</span> {r.label}
          </li>
        ))}
      </ul>
      <h2>Refused unless lifted</h2>
      {COMPOSE_POLICY_RULES.map((r) => (
        <label key={r.id} className="checkbox">
          <input
            type="checkbox"
            checked={rules[r.id] !== false}
            disabled={disabled}
            onChange={(e) => setRules({ ...rules, [r.id]: e.target.checked })}
          />{" "}
          <span className="badge">{r.id}</span> {r.label}
        </label>
      ))}
      <Field
        label="Bind-mount allow-list"
        hint="One absolute host path per line; a bind mount of that path or anything below it is allowed. Empty: no bind mounts."
      >
        <textarea
          className="code"
          rows={4}
          value={allowList}
          disabled={disabled}
          onChange={(e) => setAllowList(e.target.value)}
        />
      </Field>
      {props.saveError ? <ErrorNotice error={props.saveError} compact /> : null}
      {props.saved && !props.saveError ? <p role="status">Saved.</p> : null}
      <div className="actions">
        <button
          type="submit"
          disabled={disabled}
          title={props.canWrite ? undefined : "Needs the clusters:write permission"}
        >
          {props.saving ? "Saving…" : "Save policy"}
        </button>
        <span className="muted small">
          {props.policy.updatedAt
            ? `Last changed ${formatDateTime(props.policy.updatedAt)}`
            : "The defaults: never changed"}
        </span>
      </div>
    </form>
  );
}

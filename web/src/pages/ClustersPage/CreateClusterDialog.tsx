import { useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import type { CreatedCluster } from "../../api/types.js";
import { AgentInstallCommands } from "../../components/AgentInstall.js";
import { OneTimeSecret } from "../../components/CopyButton.js";
import { Dialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { Field } from "../../components/Field.js";

const NAME_PATTERN = "[a-z0-9][a-z0-9\\-]{0,62}";

/** Asks for a name, then shows the one-time registration token and the agent install commands. */
export function CreateClusterDialog(props: {
  busy: boolean;
  error: unknown;
  created: CreatedCluster | undefined;
  clusterHref: (clusterId: string) => string;
  onSubmit: (name: string) => void;
  onClose: () => void;
}) {
  const [name, setName] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onSubmit(name.trim());
  };
  if (props.created) {
    const { cluster, registrationToken, agentInstall, registrationTokenExpiresAt } = props.created;
    return (
      <Dialog title={`Cluster ${cluster.name} added`} onClose={props.onClose} dismissable={false}>
        <AgentInstallCommands install={agentInstall} expiresAt={registrationTokenExpiresAt} />
        <OneTimeSecret label="Registration token" value={registrationToken} />
        <div className="actions">
          <Link to={props.clusterHref(cluster.id)} onClick={props.onClose}>
            Open cluster
          </Link>
          <button type="button" onClick={props.onClose}>
            Done
          </button>
        </div>
      </Dialog>
    );
  }
  return (
    <Dialog title="Add cluster" onClose={props.onClose}>
      <form onSubmit={submit}>
        <Field label="Name" hint={<>Lowercase letters, digits and dashes.</>}>
          <input
            name="name"
            required
            pattern={NAME_PATTERN}
            maxLength={63}
            placeholder="prod-eu-1"
            value={name}
            onChange={(e) => setName(e.target.value)}
            autoFocus
          />
        </Field>
        {props.error ? <ErrorNotice error={props.error} compact /> : null}
        <div className="actions">
          <button type="button" className="secondary" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" disabled={props.busy}>
            {props.busy ? "Adding…" : "Add cluster"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router-dom";
import { useDeleteEnvironment, useUpdateEnvironment, type EnvironmentChanges } from "../../api/hooks/stacks.js";
import { useClusters } from "../../api/hooks/clusters.js";
import type { ApprovalPolicy, Cluster, EnvironmentDetail, FailurePolicy, ImageResolution } from "../../api/types.js";
import { paths } from "../../app/paths.js";
import { Dialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { Field } from "../../components/Field.js";
import { PermittedButton } from "../../components/PageHeader.js";

/** The environment page's "Settings…" and "Delete…" buttons with their dialogs. */
export function EnvironmentSettings(props: { orgId: string; env: EnvironmentDetail; canWrite: boolean }) {
  const { orgId, env } = props;
  const navigate = useNavigate();
  const update = useUpdateEnvironment(orgId, env.id, env.stack.id);
  const remove = useDeleteEnvironment(orgId, env.id, env.stack.id);
  const [open, setOpen] = useState<null | "settings" | "delete">(null);
  const close = () => {
    setOpen(null);
    update.reset();
    remove.reset();
  };
  return (
    <>
      <PermittedButton
        allowed={props.canWrite}
        permission="stacks:write"
        className="secondary"
        onClick={() => setOpen("settings")}
      >
        Settings…
      </PermittedButton>
      <PermittedButton
        allowed={props.canWrite}
        permission="stacks:write"
        className="danger"
        onClick={() => setOpen("delete")}
      >
        Delete…
      </PermittedButton>
      {open === "settings" && (
        <EnvironmentSettingsDialogWithClusters
          orgId={orgId}
          env={env}
          busy={update.isMutating}
          error={update.error}
          onSubmit={(input) => void update.trigger(input).then((e) => e && close())}
          onClose={close}
        />
      )}
      {open === "delete" && (
        <DeleteEnvironmentDialog
          env={env}
          busy={remove.isMutating}
          error={remove.error}
          onConfirm={(keepRunning) =>
            void remove.trigger({ keepRunning }).then((d) => d && navigate(paths.stack(orgId, env.stack.id)))
          }
          onClose={close}
        />
      )}
    </>
  );
}

function EnvironmentSettingsDialogWithClusters(
  props: Omit<Parameters<typeof EnvironmentSettingsDialog>[0], "clusters"> & { orgId: string },
) {
  const clusters = useClusters(props.orgId);
  return <EnvironmentSettingsDialog {...props} clusters={clusters.data?.items ?? null} />;
}

const IMAGE_RESOLUTION_HINTS: Record<ImageResolution, string> = {
  always: "Ask the registry for each tag's digest at every deploy (docker stack deploy --resolve-image always).",
  changed: "Ask the registry only for services whose image changed.",
  never:
    "Use tags as written: for images built or loaded on the cluster's nodes, which no registry knows. Rollbacks stay exact either way: each service's image is recorded when a deployment succeeds.",
};

export function EnvironmentSettingsDialog(props: {
  env: EnvironmentDetail;
  /** The org's clusters, to move the environment to; null while loading (the cluster then cannot change). */
  clusters: Cluster[] | null;
  busy: boolean;
  error: unknown;
  onSubmit: (input: EnvironmentChanges) => void;
  onClose: () => void;
}) {
  const [name, setName] = useState(props.env.name);
  const [timeout, setTimeoutSeconds] = useState(String(props.env.deployTimeoutSeconds));
  const [onFailure, setOnFailure] = useState<FailurePolicy>(props.env.onFailure);
  const [imageResolution, setImageResolution] = useState<ImageResolution>(props.env.imageResolution);
  const [clusterId, setClusterId] = useState(props.env.clusterId);
  const [position, setPosition] = useState(
    props.env.pipelinePosition === null ? "" : String(props.env.pipelinePosition),
  );
  const [approvalRequired, setApprovalRequired] = useState(props.env.approval.required);
  const [approvalRole, setApprovalRole] = useState<ApprovalPolicy["role"]>(props.env.approval.role);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const seconds = Number(timeout);
    const pipelinePosition = position.trim() === "" ? null : Number(position);
    const approvalChanged =
      approvalRequired !== props.env.approval.required || approvalRole !== props.env.approval.role;
    props.onSubmit({
      ...(name !== props.env.name ? { name } : {}),
      ...(seconds !== props.env.deployTimeoutSeconds ? { deployTimeoutSeconds: seconds } : {}),
      ...(onFailure !== props.env.onFailure ? { onFailure } : {}),
      ...(imageResolution !== props.env.imageResolution ? { imageResolution } : {}),
      ...(clusterId !== props.env.clusterId ? { clusterId } : {}),
      ...(pipelinePosition !== props.env.pipelinePosition ? { pipelinePosition } : {}),
      ...(approvalChanged ? { approval: { required: approvalRequired, role: approvalRole } } : {}),
    });
  };
  return (
    <Dialog title={`Settings of ${props.env.name}`} onClose={props.onClose}>
      <form onSubmit={submit}>
        <Field
          label="Name"
          hint={
            <>
              Shown in Stackyard only. The Swarm stack stays <code>{props.env.swarmStack}</code>: it is this
              environment&apos;s identity on the cluster.
            </>
          }
        >
          <input
            name="name"
            required
            pattern="[a-z0-9][a-z0-9\-]{0,62}"
            value={name}
            onChange={(e) => setName(e.target.value)}
            autoFocus
          />
        </Field>
        <Field label="Deploy timeout (seconds)" hint="10 to 86400; applies to deployments started after the change.">
          <input
            name="deployTimeoutSeconds"
            type="number"
            min={10}
            max={86400}
            required
            value={timeout}
            onChange={(e) => setTimeoutSeconds(e.target.value)}
          />
        </Field>
        <Field
          label="When a deployment fails"
          hint={
            onFailure === "rollback"
              ? "Roll back by itself: the last successful release is deployed again at once, as a new deployment linked to the failed one."
              : "Leave the stack as the failure left it (Swarm's update paused) for inspection; roll back or redeploy from the deployment's page."
          }
        >
          <select name="onFailure" value={onFailure} onChange={(e) => setOnFailure(e.target.value as FailurePolicy)}>
            <option value="rollback">Roll back automatically</option>
            <option value="pause">Pause for inspection</option>
          </select>
        </Field>
        <Field label="Image resolution" hint={IMAGE_RESOLUTION_HINTS[imageResolution]}>
          <select
            name="imageResolution"
            value={imageResolution}
            onChange={(e) => setImageResolution(e.target.value as ImageResolution)}
          >
            <option value="always">Always resolve digests</option>
            <option value="changed">Resolve changed images</option>
            <option value="never">Never (node-local images)</option>
          </select>
        </Field>
        <Field
          label="Cluster"
          hint="Only an environment with nothing deployed on its cluster can move; the old cluster is not touched."
        >
          <select
            name="clusterId"
            value={clusterId}
            disabled={props.clusters === null}
            onChange={(e) => setClusterId(e.target.value)}
          >
            {(props.clusters ?? []).some((c) => c.id === props.env.clusterId) ? null : (
              <option value={props.env.clusterId}>{props.env.cluster.name}</option>
            )}
            {(props.clusters ?? []).map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </Field>
        <Field
          label="Position in the promotion pipeline"
          hint="Ascending: dev 0, staging 1, prod 2. Empty: not in the pipeline. The stack page offers Promote to the next one."
        >
          <input
            name="pipelinePosition"
            type="number"
            min={0}
            max={1000}
            value={position}
            onChange={(e) => setPosition(e.target.value)}
          />
        </Field>
        <label className="checkbox">
          <input
            type="checkbox"
            name="approvalRequired"
            checked={approvalRequired}
            onChange={(e) => setApprovalRequired(e.target.checked)}
          />{" "}
          Deployments here wait for an approval
        </label>
        {approvalRequired && (
          <Field
            label="Approved by"
            hint="A user with this role (or an ORG_ADMIN), never the one who asked for the deployment."
          >
            <select
              name="approvalRole"
              value={approvalRole}
              onChange={(e) => setApprovalRole(e.target.value as ApprovalPolicy["role"])}
            >
              <option value="APP_ADMIN">APP_ADMIN</option>
              <option value="CLUSTER_ADMIN">CLUSTER_ADMIN</option>
              <option value="ORG_ADMIN">ORG_ADMIN</option>
            </select>
          </Field>
        )}
        {props.error ? <ErrorNotice error={props.error} compact /> : null}
        <div className="actions">
          <button type="button" className="secondary" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" disabled={props.busy}>
            {props.busy ? "Saving…" : "Save"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** Says exactly what leaves the cluster, and asks for the environment's name before doing it. */
export function DeleteEnvironmentDialog(props: {
  env: EnvironmentDetail;
  busy: boolean;
  error: unknown;
  onConfirm: (keepRunning: boolean) => void;
  onClose: () => void;
}) {
  const { env } = props;
  const [typed, setTyped] = useState("");
  const [keepRunning, setKeepRunning] = useState(false);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (typed === env.name) props.onConfirm(keepRunning);
  };
  return (
    <Dialog title={`Delete environment ${env.stack.name} / ${env.name}`} onClose={props.onClose}>
      <form onSubmit={submit}>
        <div className="dialog-body">
          {keepRunning ? (
            <p>
              Nothing is removed from the cluster: the Swarm stack <code>{env.swarmStack}</code> on{" "}
              <b>{env.cluster.name}</b> keeps running, unmanaged.
            </p>
          ) : (
            <p>
              This removes the Swarm stack <code>{env.swarmStack}</code> from cluster <b>{env.cluster.name}</b>: its
              services, its networks, and the Swarm secrets and configs labelled as this environment&apos;s. Anything
              else in that stack that Stackyard did not create stays.
            </p>
          )}
          <p>
            Stackyard forgets the environment with its overlay, its secrets and its deployment history. The audit log
            keeps a record.
          </p>
          <label className="checkbox">
            <input
              type="checkbox"
              name="keepRunning"
              checked={keepRunning}
              onChange={(e) => setKeepRunning(e.target.checked)}
            />{" "}
            Keep the Swarm stack running on the cluster (only forget it here)
          </label>
          <Field label={<>Type the environment&apos;s name, {env.name}, to confirm</>}>
            <input
              name="confirm"
              autoComplete="off"
              value={typed}
              onChange={(e) => setTyped(e.target.value)}
              autoFocus
            />
          </Field>
        </div>
        {props.error ? <ErrorNotice error={props.error} compact /> : null}
        <div className="actions">
          <button type="button" className="secondary" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" className="danger" disabled={props.busy || typed !== env.name}>
            {props.busy ? "Deleting…" : keepRunning ? "Forget environment" : `Remove ${env.swarmStack} and delete`}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

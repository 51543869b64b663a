import { useState } from "react";
import { useNavigate } from "react-router-dom";
import { hasPermission, useMe } from "../../api/hooks/session.js";
import { useCreateStack, useStacks } from "../../api/hooks/stacks.js";
import { paths } from "../../app/paths.js";
import { useOrgId } from "../../app/useOrgId.js";
import { CreateStackDialog, StacksView } from "./StacksView.js";

export function StacksPage() {
  const orgId = useOrgId();
  const me = useMe();
  const stacks = useStacks(orgId);
  const create = useCreateStack(orgId);
  const navigate = useNavigate();
  const [creating, setCreating] = useState(false);
  const close = () => {
    setCreating(false);
    create.reset();
  };
  return (
    <>
      <StacksView
        state={{
          data: stacks.data?.items,
          error: stacks.error,
          isLoading: stacks.isLoading,
          onRetry: () => void stacks.mutate(),
        }}
        stackHref={(s) => paths.stack(orgId, s.id)}
        environmentHref={(id) => paths.environment(orgId, id)}
        deploymentHref={(id) => paths.deployment(orgId, id)}
        clusterHref={(id) => paths.cluster(orgId, id)}
        canCreate={hasPermission(me.data, "stacks:write")}
        onCreate={() => setCreating(true)}
      />
      {creating && (
        <CreateStackDialog
          busy={create.isMutating}
          error={create.error}
          onSubmit={(input) => void create.trigger(input).then((s) => s && navigate(paths.stack(orgId, s.id)))}
          onClose={close}
        />
      )}
    </>
  );
}

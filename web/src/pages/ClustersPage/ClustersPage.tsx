import { useState } from "react";
import { useClusters, useCreateCluster } from "../../api/hooks/clusters.js";
import { hasPermission, useMe } from "../../api/hooks/session.js";
import { paths } from "../../app/paths.js";
import { useOrgId } from "../../app/useOrgId.js";
import { ClustersView } from "./ClustersView.js";
import { CreateClusterDialog } from "./CreateClusterDialog.js";

export function ClustersPage() {
  const orgId = useOrgId();
  const me = useMe();
  const clusters = useClusters(orgId);
  const create = useCreateCluster(orgId);
  const [dialogOpen, setDialogOpen] = useState(false);

  const close = () => {
    setDialogOpen(false);
    create.reset();
  };
  return (
    <>
      <ClustersView
        state={{
          data: clusters.data?.items,
          error: clusters.error,
          isLoading: clusters.isLoading,
          onRetry: () => void clusters.mutate(),
        }}
        clusterHref={(c) => paths.cluster(orgId, c.id)}
        canCreate={hasPermission(me.data, "clusters:write")}
        onCreate={() => setDialogOpen(true)}
      />
      {dialogOpen && (
        <CreateClusterDialog
          busy={create.isMutating}
          error={create.error}
          created={create.data}
          clusterHref={(id) => paths.cluster(orgId, id)}
          onSubmit={(name) => void create.trigger({ name })}
          onClose={close}
        />
      )}
    </>
  );
}

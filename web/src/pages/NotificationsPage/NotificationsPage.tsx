import { useState } from "react";
import {
  useCreateNotificationEndpoint,
  useDeleteNotificationEndpoint,
  useNotificationDeliveries,
  useNotificationEndpoints,
  useTestNotificationEndpoint,
  useUpdateNotificationEndpoint,
} from "../../api/hooks/notifications.js";
import { hasPermission, useMe } from "../../api/hooks/session.js";
import type { NotificationEndpoint } from "../../api/types.js";
import { useOrgId } from "../../app/useOrgId.js";
import { ConfirmDialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { CreateNotificationDialog } from "./CreateNotificationDialog.js";
import { NotificationsView } from "./NotificationsView.js";

export function NotificationsPage() {
  const orgId = useOrgId();
  const me = useMe();
  const endpoints = useNotificationEndpoints(orgId);
  const create = useCreateNotificationEndpoint(orgId);
  const update = useUpdateNotificationEndpoint(orgId);
  const remove = useDeleteNotificationEndpoint(orgId);
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<NotificationEndpoint | null>(null);
  const [selected, setSelected] = useState<NotificationEndpoint | null>(null);
  const deliveries = useNotificationDeliveries(orgId, selected?.id ?? null);
  const test = useTestNotificationEndpoint(orgId);

  const closeCreate = () => {
    setCreating(false);
    create.reset();
  };
  const closeDelete = () => {
    setDeleting(null);
    remove.reset();
  };
  const sendTest = (endpoint: NotificationEndpoint) => {
    setSelected(endpoint);
    void test.trigger(endpoint.id).then((queued) => queued && void deliveries.mutate());
  };
  return (
    <>
      {update.error ? <ErrorNotice error={update.error} compact /> : null}
      {test.error ? <ErrorNotice error={test.error} compact /> : null}
      <NotificationsView
        state={{
          data: endpoints.data?.items,
          error: endpoints.error,
          isLoading: endpoints.isLoading,
          onRetry: () => void endpoints.mutate(),
        }}
        canWrite={hasPermission(me.data, "notifications:write")}
        onCreate={() => setCreating(true)}
        onToggle={(e) => void update.trigger({ id: e.id, enabled: !e.enabled })}
        onTest={sendTest}
        onDelete={setDeleting}
        selected={
          selected
            ? {
                endpoint: selected,
                deliveries: {
                  data: deliveries.data?.items,
                  error: deliveries.error,
                  isLoading: deliveries.isLoading,
                  onRetry: () => void deliveries.mutate(),
                },
              }
            : null
        }
        onSelect={setSelected}
      />
      {creating && (
        <CreateNotificationDialog
          busy={create.isMutating}
          error={create.error}
          created={create.data}
          onSubmit={(input) => void create.trigger(input)}
          onClose={closeCreate}
        />
      )}
      {deleting && (
        <ConfirmDialog
          title={`Delete endpoint ${deleting.name}?`}
          confirmLabel="Delete endpoint"
          busy={remove.isMutating}
          error={remove.error ? <ErrorNotice error={remove.error} compact /> : null}
          onCancel={closeDelete}
          onConfirm={() =>
            void remove.trigger(deleting.id).then((removed) => {
              if (!removed) return;
              if (selected?.id === deleting.id) setSelected(null);
              closeDelete();
            })
          }
        >
          Its delivery log goes with it; pending retries are dropped.
        </ConfirmDialog>
      )}
    </>
  );
}

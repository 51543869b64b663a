import { useState } from "react";
import { hasPermission, useMe } from "../../api/hooks/session.js";
import {
  useDestroyPreview,
  usePreviews,
  usePreviewSettings,
  useSavePreviewSettings,
  useSyncSources,
} from "../../api/hooks/previews.js";
import type { Preview, StackDetail } from "../../api/types.js";
import { DestroyPreviewDialog, PreviewSettingsDialog, PreviewsView } from "./PreviewsView.js";

/** The data side of the stack page's previews card (the view is PreviewsView). */
export function PreviewsPanel(props: {
  stack: StackDetail;
  environmentHref: (environmentId: string) => string;
  releaseHref: (releaseId: string) => string;
  deploymentHref: (deploymentId: string) => string;
}) {
  const { stack } = props;
  const me = useMe();
  const previews = usePreviews(stack.id);
  const settings = usePreviewSettings(stack.id);
  const [open, setOpen] = useState<null | "settings" | Preview>(null);
  const sources = useSyncSources(open === "settings" ? stack.id : null);
  const save = useSavePreviewSettings(stack.id);
  const destroy = useDestroyPreview(stack.id);
  const close = () => {
    setOpen(null);
    save.reset();
    destroy.reset();
  };
  return (
    <>
      <PreviewsView
        previews={{
          data: previews.data,
          error: previews.error,
          isLoading: previews.isLoading,
          onRetry: () => void previews.mutate(),
        }}
        settings={{
          data: settings.data,
          error: settings.error,
          isLoading: settings.isLoading,
          onRetry: () => void settings.mutate(),
        }}
        environmentHref={props.environmentHref}
        releaseHref={props.releaseHref}
        deploymentHref={props.deploymentHref}
        canWrite={hasPermission(me.data, "stacks:write")}
        canDestroy={hasPermission(me.data, "deployments:write")}
        onEditSettings={() => setOpen("settings")}
        onDestroy={(p) => setOpen(p)}
      />
      {open === "settings" && (
        <PreviewSettingsDialog
          current={settings.data}
          sources={sources.data?.items}
          environments={stack.environments}
          busy={save.isMutating}
          error={save.error}
          onSubmit={(input) => void save.trigger(input).then((s) => s && close())}
          onClose={close}
        />
      )}
      {open !== null && open !== "settings" && (
        <DestroyPreviewDialog
          preview={open}
          busy={destroy.isMutating}
          error={destroy.error}
          onConfirm={() => void destroy.trigger(open.id).then((p) => p && close())}
          onCancel={close}
        />
      )}
    </>
  );
}

import { usePutComposePolicy, useComposePolicy } from "../../api/hooks/policy.js";
import { hasPermission, useMe } from "../../api/hooks/session.js";
import { useOrgId } from "../../app/useOrgId.js";
import { ComposePolicyView } from "./ComposePolicyView.js";

export function ComposePolicyPage() {
  const orgId = useOrgId();
  const me = useMe();
  const policy = useComposePolicy(orgId);
  const save = usePutComposePolicy(orgId);
  return (
    <ComposePolicyView
      state={{
        data: policy.data,
        error: policy.error,
        isLoading: policy.isLoading,
        onRetry: () => void policy.mutate(),
      }}
      canWrite={hasPermission(me.data, "clusters:write")}
      saving={save.isMutating}
      saveError={save.error}
      saved={save.data !== undefined}
      onSave={(input) => void save.trigger(input)}
    />
  );
}

import { useAcknowledgeAlert, useAlertRules, useAlerts, useSilenceAlert } from "../../api/hooks/alerts.js";
import { hasPermission, useMe } from "../../api/hooks/session.js";
import { useOrgId } from "../../app/useOrgId.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { AlertsView, SILENCE_MS } from "./AlertsView.js";

export function AlertsPage() {
  const orgId = useOrgId();
  const me = useMe();
  const alerts = useAlerts(orgId);
  const rules = useAlertRules(orgId);
  const acknowledge = useAcknowledgeAlert(orgId);
  const silence = useSilenceAlert(orgId);
  return (
    <>
      {acknowledge.error ? <ErrorNotice error={acknowledge.error} compact /> : null}
      {silence.error ? <ErrorNotice error={silence.error} compact /> : null}
      <AlertsView
        alerts={{
          data: alerts.data?.items,
          error: alerts.error,
          isLoading: alerts.isLoading,
          onRetry: () => void alerts.mutate(),
        }}
        rules={{
          data: rules.data?.items,
          error: rules.error,
          isLoading: rules.isLoading,
          onRetry: () => void rules.mutate(),
        }}
        canAck={hasPermission(me.data, "alerts:ack")}
        busy={acknowledge.isMutating || silence.isMutating}
        onAcknowledge={(a) => void acknowledge.trigger(a.id)}
        onSilence={(a) => void silence.trigger({ id: a.id, until: new Date(Date.now() + SILENCE_MS).toISOString() })}
      />
    </>
  );
}

import { useState } from "react";
import { useMe } from "../../api/hooks/session.js";
import { useChangePassword } from "../../api/hooks/users.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { AccountView } from "./AccountView.js";

export function AccountPage() {
  const me = useMe();
  const change = useChangePassword();
  const [changed, setChanged] = useState<{ sessionsRevoked: number } | null>(null);
  if (!me.data) return me.error ? <ErrorNotice error={me.error} onRetry={() => void me.mutate()} /> : null;
  return (
    <AccountView
      me={me.data}
      busy={change.isMutating}
      error={change.error}
      changed={changed}
      onChangePassword={(input) => {
        setChanged(null);
        void change.trigger(input).then((r) => r && setChanged(r));
      }}
    />
  );
}

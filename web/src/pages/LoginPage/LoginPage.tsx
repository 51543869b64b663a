import { useState } from "react";
import { useNavigate, useSearchParams } from "react-router-dom";
import { useLogin } from "../../api/hooks/session.js";
import { paths, safeNext } from "../../app/paths.js";
import { LoginView } from "./LoginView.js";

/** `/login?next=&org=&orgName=&email=&reason=`: `org` logs into that org (switching org is a login). */
export function LoginPage() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const login = useLogin();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const orgId = params.get("org");

  const onSubmit = async (email: string, password: string, chosenOrgId: string | null = orgId) => {
    setBusy(true);
    setError(null);
    try {
      const result = await login({ email, password, ...(chosenOrgId ? { orgId: chosenOrgId } : {}) });
      navigate(safeNext(params.get("next")) ?? paths.clusters(result.user.orgId), { replace: true });
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };

  return (
    <LoginView
      initialEmail={params.get("email") ?? ""}
      orgName={params.get("orgName")}
      reason={params.get("reason")}
      busy={busy}
      error={error}
      onSubmit={(email, password, chosenOrgId) => void onSubmit(email, password, chosenOrgId ?? orgId)}
    />
  );
}

import { useEffect } from "react";
import { Navigate, Outlet, useLocation, useNavigate } from "react-router-dom";
import { SESSION_MARKER_KEY } from "../api/browser-session.js";
import { useApiClient } from "../api/hooks/context.js";
import { useClearCache } from "../api/hooks/session.js";
import { paths } from "./paths.js";

/** Sends to /login (remembering where the user was) whenever the session ends, here or in another tab. */
export function SessionWatcher() {
  const client = useApiClient();
  const navigate = useNavigate();
  const location = useLocation();
  const clear = useClearCache();
  const here = location.pathname + location.search;
  useEffect(() => {
    const toLogin = (reason: string) => {
      void clear();
      if (!here.startsWith("/login")) navigate(paths.login({ next: here, reason }));
    };
    const unsubscribe = client.onSessionEnded((e) => toLogin(e.code));
    const onStorage = (e: StorageEvent) => {
      if (e.key === SESSION_MARKER_KEY && e.newValue === null) toLogin("LOGGED_OUT");
    };
    window.addEventListener("storage", onStorage);
    return () => {
      unsubscribe();
      window.removeEventListener("storage", onStorage);
    };
  }, [client, navigate, clear, here]);
  return null;
}

export function RequireSession() {
  const client = useApiClient();
  const location = useLocation();
  if (!client.hasSession()) return <Navigate to={paths.login({ next: location.pathname + location.search })} replace />;
  return <Outlet />;
}

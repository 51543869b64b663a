import { useState } from "react";
import { useNavigate, useSearchParams } from "react-router-dom";
import { ApiError } from "../../api/client.js";
import { useLogin, useLoginSteps } from "../../api/hooks/session.js";
import type { LoginResult, MfaChallenge, MfaEnrollment } from "../../api/types.js";
import { paths, safeNext } from "../../app/paths.js";
import { LoginView } from "./LoginView.js";
import { MfaCodeStep, MfaEnrollStep, RecoveryCodesStep } from "./MfaSteps.js";

type Step =
  | { kind: "password" }
  | { kind: "code"; challengeToken: string }
  | { kind: "enroll"; challengeToken: string; enrollment: MfaEnrollment | null }
  | { kind: "codes"; recoveryCodes: string[]; orgId: string };

function challengeOf(e: unknown, code: "MFA_REQUIRED" | "MFA_ENROLLMENT_REQUIRED"): string | null {
  if (!(e instanceof ApiError) || e.code !== code) return null;
  const token = (e.details as Partial<MfaChallenge> | undefined)?.challengeToken;
  return typeof token === "string" ? token : null;
}

/**
 * `/login?next=&org=&orgName=&email=&reason=`: `org` logs into that org (switching org is a login). With MFA the
 * password step is followed by a code, or, when the org requires MFA of an account without it, by its enrolment.
 */
export function LoginPage() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const login = useLogin();
  const steps = useLoginSteps();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [step, setStep] = useState<Step>({ kind: "password" });
  const orgId = params.get("org");

  const enter = (result: LoginResult) => goTo(result.user.orgId);
  const goTo = (loggedInOrgId: string) =>
    navigate(safeNext(params.get("next")) ?? paths.clusters(loggedInOrgId), { replace: true });

  /** Runs one step; a spent or expired challenge goes back to the password with its reason shown. */
  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (e) {
      if (e instanceof ApiError && e.code === "MFA_CHALLENGE_INVALID") setStep({ kind: "password" });
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const onPassword = (email: string, password: string, chosenOrgId: string | null = orgId) =>
    run(async () => {
      try {
        enter(await login({ email, password, ...(chosenOrgId ? { orgId: chosenOrgId } : {}) }));
      } catch (e) {
        const codeChallenge = challengeOf(e, "MFA_REQUIRED");
        if (codeChallenge) return setStep({ kind: "code", challengeToken: codeChallenge });
        const enrollChallenge = challengeOf(e, "MFA_ENROLLMENT_REQUIRED");
        if (!enrollChallenge) throw e;
        setStep({ kind: "enroll", challengeToken: enrollChallenge, enrollment: null });
        const enrollment = await steps.startEnrollment(enrollChallenge);
        setStep({ kind: "enroll", challengeToken: enrollChallenge, enrollment });
      }
    });

  const back = () => {
    setError(null);
    setStep({ kind: "password" });
  };

  if (step.kind === "code") {
    return (
      <MfaCodeStep
        busy={busy}
        error={error}
        onBack={back}
        onSubmit={(code) =>
          void run(async () => enter(await steps.withCode({ challengeToken: step.challengeToken, code })))
        }
      />
    );
  }
  if (step.kind === "enroll") {
    return (
      <MfaEnrollStep
        enrollment={step.enrollment}
        busy={busy}
        error={error}
        onBack={back}
        onConfirm={(code) =>
          void run(async () => {
            const result = await steps.confirmEnrollment({ challengeToken: step.challengeToken, code });
            setStep({ kind: "codes", recoveryCodes: result.recoveryCodes, orgId: result.user.orgId });
          })
        }
      />
    );
  }
  if (step.kind === "codes") {
    return <RecoveryCodesStep codes={step.recoveryCodes} onContinue={() => goTo(step.orgId)} />;
  }
  return (
    <LoginView
      initialEmail={params.get("email") ?? ""}
      orgName={params.get("orgName")}
      reason={params.get("reason")}
      busy={busy}
      error={error}
      onSubmit={(email, password, chosenOrgId) => void onPassword(email, password, chosenOrgId ?? orgId)}
    />
  );
}

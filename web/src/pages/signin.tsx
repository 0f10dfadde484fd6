import { useState } from "preact/hooks";
import type { Recovery } from "../api";
import type { AuthProvider, SignedIn } from "../auth";
import { t } from "../i18n";
import { ErrorText } from "../ui";
import { ForgotPassword } from "./recovery";

/** What the app does, beside the sign-in form: the first thing a newcomer reads. */
function Intro() {
  return (
    <section class="intro" aria-labelledby="intro-title">
      <h1 id="intro-title">{t("introTitle")}</h1>
      <p>{t("introLead")}</p>
      <ul>
        <li>{t("introLive")}</li>
        <li>{t("introTranscripts")}</li>
        <li>{t("introUploads")}</li>
        <li>{t("introSelfHosted")}</li>
      </ul>
    </section>
  );
}

export function SignInPage(props: {
  auth: AuthProvider;
  recovery: Recovery;
  onSignedIn: (session: SignedIn) => void;
  notice?: string;
}) {
  const { auth, recovery, onSignedIn } = props;
  const [mode, setMode] = useState<"signin" | "signup" | "forgot">("signin");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState(props.notice ?? "");

  const switchTo = (next: typeof mode) => {
    setMode(next);
    setError(null);
    setNotice("");
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setNotice("");
    try {
      const session = mode === "signin" ? await auth.signIn(email, password) : await auth.signUp(email, password);
      if (session) onSignedIn(session);
      else {
        setNotice(t("confirmEmail"));
        setMode("signin");
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const heading = mode === "signin" ? t("signInTitle") : mode === "signup" ? t("signUpTitle") : t("forgotTitle");
  return (
    <main id="main" class="signin-layout" tabIndex={-1}>
      <Intro />
      <div class="signin-panel">
        <h2>{heading}</h2>
        {mode === "forgot" ? (
          <ForgotPassword auth={auth} recovery={recovery} email={email} onEmail={setEmail} onBack={() => switchTo("signin")} />
        ) : (
          <>
            {auth.kind === "supabase" && <p class="muted">{t("supabaseNote")}</p>}
            <form class="card stack" onSubmit={submit} data-mode={mode}>
              <label for="email">{t("email")}</label>
              <input id="email" type="email" autoComplete="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
              <label for="password">{t("password")}</label>
              <input
                id="password"
                type="password"
                autoComplete={mode === "signin" ? "current-password" : "new-password"}
                required
                minLength={mode === "signup" ? 8 : undefined}
                aria-describedby={mode === "signup" ? "password-hint" : undefined}
                value={password}
                onInput={(e) => setPassword(e.currentTarget.value)}
              />
              {mode === "signup" && (
                <small id="password-hint" class="muted">
                  {t("passwordHint")}
                </small>
              )}
              <ErrorText error={error} />
              {notice && <p role="status">{notice}</p>}
              <button type="submit" disabled={busy}>
                {mode === "signin" ? t("signIn") : t("signUp")}
              </button>
              {mode === "signin" && (
                <button type="button" class="link" onClick={() => switchTo("forgot")}>
                  {t("forgotPassword")}
                </button>
              )}
              <button type="button" class="link" onClick={() => switchTo(mode === "signin" ? "signup" : "signin")}>
                {mode === "signin" ? t("needAccount") : t("haveAccount")}
              </button>
            </form>
          </>
        )}
      </div>
    </main>
  );
}

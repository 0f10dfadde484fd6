import { useState } from "preact/hooks";
import type { AuthProvider, SignedIn } from "../auth";
import { t } from "../i18n";
import { ErrorText } from "../ui";

export function SignInPage({ auth, onSignedIn }: { auth: AuthProvider; onSignedIn: (session: SignedIn) => void }) {
  const [mode, setMode] = useState<"signin" | "signup">("signin");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState("");

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

  const heading = mode === "signin" ? t("signInTitle") : t("signUpTitle");
  return (
    <main id="main" class="narrow" tabIndex={-1}>
      <h1>{heading}</h1>
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
          minLength={8}
          aria-describedby="password-hint"
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        <small id="password-hint" class="muted">
          {t("passwordHint")}
        </small>
        <ErrorText error={error} />
        {notice && <p role="status">{notice}</p>}
        <button type="submit" disabled={busy}>
          {mode === "signin" ? t("signIn") : t("signUp")}
        </button>
        <button type="button" class="link" onClick={() => setMode(mode === "signin" ? "signup" : "signin")}>
          {mode === "signin" ? t("needAccount") : t("haveAccount")}
        </button>
      </form>
    </main>
  );
}

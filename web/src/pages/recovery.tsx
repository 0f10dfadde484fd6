// A forgotten password: the "Forgot password?" panel of the sign-in page (an e-mailed link, or the
// administrator's command when the server sends no e-mail) and the page the e-mailed link opens.

import { useState } from "preact/hooks";
import type { Recovery } from "../api";
import type { AuthProvider } from "../auth";
import { lang, t } from "../i18n";
import { ErrorText } from "../ui";

const ADMIN_COMMAND = "python -m api_service.admin reset-password YOUR-EMAIL";

export function ForgotPassword(props: {
  auth: AuthProvider;
  recovery: Recovery;
  email: string;
  onEmail: (email: string) => void;
  onBack: () => void;
}) {
  const { auth, recovery, email, onEmail, onBack } = props;
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await auth.requestPasswordReset(email, lang());
      setSent(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const back = (
    <button type="button" class="link" onClick={onBack}>
      {t("backToSignIn")}
    </button>
  );
  if (recovery === "admin") {
    return (
      <div class="card stack" data-recovery="admin">
        <p>{t("forgotAdmin")}</p>
        <pre class="command">
          <code>{ADMIN_COMMAND}</code>
        </pre>
        {back}
      </div>
    );
  }
  return (
    <form class="card stack" onSubmit={submit} data-recovery={recovery}>
      <p>{recovery === "supabase" ? t("forgotSupabaseLead") : t("forgotEmailLead")}</p>
      <label for="reset-email">{t("email")}</label>
      <input id="reset-email" type="email" autoComplete="email" required value={email} onInput={(e) => onEmail(e.currentTarget.value)} />
      <ErrorText error={error} />
      {sent && <p role="status">{t("resetLinkSent")}</p>}
      <button type="submit" disabled={busy}>
        {t("sendResetLink")}
      </button>
      {back}
    </form>
  );
}

/** The page the e-mailed link opens (/reset-password). A local account's link carries its code in
 * the URL's fragment (#token=…), which browsers never send to a server; Supabase's link has signed
 * the person in for recovery before this page shows. */
export function ResetPasswordPage(props: { auth: AuthProvider; signedIn: boolean; onDone: (notice: string) => void }) {
  const { auth, signedIn, onDone } = props;
  const [code] = useState(() => new URLSearchParams(location.hash.replace(/^#/, "")).get("token"));
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  // A local link must carry its code; a Supabase link that worked has signed the person in (one
  // that expired or was used comes back without a session).
  const unusable = auth.kind === "local" ? (code ? null : t("resetLinkMissing")) : signedIn ? null : t("resetLinkExpired");

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await auth.completePasswordReset(password, code);
      onDone(t("passwordChanged"));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="narrow" tabIndex={-1}>
      <h1>{t("newPasswordTitle")}</h1>
      {unusable ? (
        <p class="error" role="alert">
          {unusable}
        </p>
      ) : (
        <form class="card stack" onSubmit={submit}>
          <label for="new-password">{t("newPassword")}</label>
          <input
            id="new-password"
            type="password"
            autoComplete="new-password"
            required
            minLength={8}
            aria-describedby="new-password-hint"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
          <small id="new-password-hint" class="muted">
            {t("passwordHint")}
          </small>
          <ErrorText error={error} />
          <button type="submit" disabled={busy}>
            {t("setNewPassword")}
          </button>
        </form>
      )}
    </main>
  );
}

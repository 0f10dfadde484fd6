// Entry point: reads the API's public config, restores the sign-in, and renders the app.

import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, setToken, setUnauthorizedHandler, type Recovery, type WebConfig } from "./api";
import { createAuth, type AuthProvider, type SignedIn } from "./auth";
import { lang, onLangChange, setLang, t, type Lang } from "./i18n";
import { DevicesPage } from "./pages/devices";
import { ResetPasswordPage } from "./pages/recovery";
import { RedactionPage } from "./pages/redaction";
import { SessionPage } from "./pages/session";
import { SessionsPage } from "./pages/sessions";
import { SharedSessionPage } from "./pages/shared";
import { SignInPage } from "./pages/signin";
import { TemplatesPage } from "./pages/templates";
import { UploadPage } from "./pages/upload";
import { Link, match, navigate, useLocation } from "./router";
import { LoadingPage } from "./ui";
import "./styles.css";

type MeetingProps = Parameters<typeof import("./pages/meeting").MeetingPage>[0];

/** The meeting page carries the LiveKit SDK: loaded only when someone opens a meeting. */
function Meeting(props: MeetingProps) {
  const [page, setPage] = useState<typeof import("./pages/meeting") | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    import("./pages/meeting").then(setPage, setError);
  }, []);
  if (page) return <page.MeetingPage {...props} />;
  return (
    <main id="main" tabIndex={-1}>
      {error ? <p class="error">{t("errorPrefix", { message: String(error) })}</p> : <p>{t("loading")}</p>}
    </main>
  );
}

function Routes() {
  const { path, query } = useLocation();
  let params: Record<string, string> | null;
  if (path === "/" || path === "/sessions") return <SessionsPage />;
  if ((params = match("/sessions/:id", path))) return <SessionPage key={params.id} id={params.id} />;
  if ((params = match("/shared/:id", path))) return <SharedSessionPage key={params.id} id={params.id} />;
  if (path === "/meeting") return <Meeting />;
  if ((params = match("/join/:id", path))) return <Meeting key={params.id} join={{ sessionId: params.id, code: query.get("code") }} />;
  if (path === "/upload") return <UploadPage />;
  if (path === "/templates") return <TemplatesPage />;
  if (path === "/devices") return <DevicesPage />;
  if (path === "/redaction") return <RedactionPage />;
  return (
    <main id="main" tabIndex={-1}>
      <h1>{t("notFound")}</h1>
      <Link href="/">{t("backToSessions")}</Link>
    </main>
  );
}

function LanguageSwitch() {
  return (
    <label class="lang-switch">
      <span class="visually-hidden">{t("language")}</span>
      <select value={lang()} onChange={(e) => setLang(e.currentTarget.value as Lang)} aria-label={t("language")}>
        <option value="en">English</option>
        <option value="zh">中文</option>
      </select>
    </label>
  );
}

function App({ auth, recovery }: { auth: AuthProvider; recovery: Recovery }) {
  const [user, setUser] = useState<SignedIn | null | undefined>(undefined);
  const [, setLangTick] = useState(0);
  const [notice, setNotice] = useState("");
  const { path } = useLocation();

  useEffect(() => onLangChange(() => setLangTick((n) => n + 1)), []);
  useEffect(() => {
    const signOut = () => {
      void auth.signOut();
      setToken(null);
      setUser(null);
    };
    setUnauthorizedHandler(signOut);
    auth.onRefresh((session) => {
      setToken(session.token);
      setUser(session);
    });
    auth.restore().then(
      (session) => {
        setToken(session?.token ?? null);
        setUser(session);
      },
      () => setUser(null),
    );
  }, [auth]);

  const signedIn = (session: SignedIn) => {
    setToken(session.token);
    setUser(session);
    setNotice("");
  };
  const signOut = async () => {
    await auth.signOut();
    setToken(null);
    setUser(null);
  };
  // After a new password is set: signed out, on the sign-in page, told what happened.
  const passwordReset = async (message: string) => {
    await signOut();
    setNotice(message);
    navigate("/", true);
  };

  return (
    <>
      <a class="skip-link" href="#main">
        {t("skipToContent")}
      </a>
      <header class="topbar">
        <Link href="/" class="brand">
          {t("appName")}
        </Link>
        {user && (
          <nav aria-label={t("mainNav")}>
            <Link href="/">{t("navSessions")}</Link>
            <Link href="/meeting">{t("navMeeting")}</Link>
            <Link href="/upload">{t("navUpload")}</Link>
            <Link href="/templates">{t("navTemplates")}</Link>
            <Link href="/devices">{t("navDevices")}</Link>
            <Link href="/redaction">{t("navRedaction")}</Link>
          </nav>
        )}
        <div class="topbar-end">
          <LanguageSwitch />
          {user && (
            <>
              <span class="who" title={t("signedInAs", { email: user.email ?? "" })}>
                {user.email}
              </span>
              <button type="button" class="secondary" onClick={signOut}>
                {t("signOut")}
              </button>
            </>
          )}
        </div>
      </header>
      {user === undefined ? (
        <LoadingPage />
      ) : path === "/reset-password" ? (
        <ResetPasswordPage auth={auth} signedIn={!!user} onDone={passwordReset} />
      ) : user ? (
        <Routes />
      ) : (
        <SignInPage key={notice} auth={auth} recovery={recovery} onSignedIn={signedIn} notice={notice} />
      )}
    </>
  );
}

async function start(): Promise<void> {
  const root = document.getElementById("app")!;
  try {
    const config = await api<WebConfig>("/api/v1/config");
    render(<App auth={await createAuth(config)} recovery={config.auth.recovery} />, root);
  } catch (error) {
    render(<p class="error">{t("errorPrefix", { message: String(error) })}</p>, root);
  }
}

void start();

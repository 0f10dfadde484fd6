import { useEffect, useState } from "preact/hooks";
import { api, type Session, type SessionPage } from "../api";
import { t, tMaybe } from "../i18n";
import { Link } from "../router";
import { ErrorText } from "../ui";
import { FirstRun } from "./firstrun";
import { SessionItem } from "./session-item";

const PAGE = 20;

export function SessionsPage() {
  const [query, setQuery] = useState("");
  const [status, setStatus] = useState("");
  const [items, setItems] = useState<Session[]>([]);
  const [total, setTotal] = useState(0);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const load = async (offset: number, signal?: AbortSignal) => {
    const params = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
    if (query.trim()) params.set("q", query.trim());
    if (status) params.set("status", status);
    const page = await api<SessionPage>(`/api/v1/sessions/?${params}`, { signal });
    setItems((previous) => (offset === 0 ? page.items : [...previous, ...page.items]));
    setTotal(page.total);
    setLoaded(true);
    setError(null);
  };

  useEffect(() => {
    const controller = new AbortController();
    const timer = setTimeout(() => load(0, controller.signal).catch((err) => controller.signal.aborted || setError(err)), 250);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [query, status]);

  return (
    <main id="main" tabIndex={-1}>
      <div class="page-head">
        <h1>{t("sessionsTitle")}</h1>
        <div class="actions">
          <Link href="/meeting" class="button">
            {t("navMeeting")}
          </Link>
          <Link href="/upload" class="button secondary">
            {t("navUpload")}
          </Link>
        </div>
      </div>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label class="grow">
          <span class="visually-hidden">{t("search")}</span>
          <input type="search" placeholder={t("search")} value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
        </label>
        <label>
          <span class="visually-hidden">{t("statusFilter")}</span>
          <select value={status} onChange={(e) => setStatus(e.currentTarget.value)} aria-label={t("statusFilter")}>
            <option value="">{t("anyStatus")}</option>
            {["live", "processing", "completed", "failed", "created"].map((s) => (
              <option key={s} value={s}>
                {tMaybe("status_", s)}
              </option>
            ))}
          </select>
        </label>
      </form>
      <ErrorText error={error} />
      {!loaded ? (
        <p>{t("loading")}</p>
      ) : items.length === 0 ? (
        query || status ? (
          <p class="muted">{t("noMatches")}</p>
        ) : (
          <FirstRun />
        )
      ) : (
        <>
          <p class="muted" aria-live="polite">
            {t(total === 1 ? "sessionCountOne" : "sessionCount", { count: total })}
          </p>
          <ul class="session-list">
            {items.map((session) => (
              <SessionItem key={session.id} session={session} query={query} />
            ))}
          </ul>
          {items.length < total && (
            <button type="button" class="secondary" onClick={() => load(items.length).catch(setError)}>
              {t("loadMore")}
            </button>
          )}
        </>
      )}
    </main>
  );
}

// Redaction: the user's default policy (the /redaction page) and a session's own (a panel on the
// session page). With it on, captions and the stored transcript carry [email], [phone], [card],
// [account] or [redacted] instead of what was said.

import { useEffect, useState } from "preact/hooks";
import { api, type RedactionKind, type RedactionPolicy } from "../api";
import { t } from "../i18n";
import { ErrorText, useLoad } from "../ui";

const KINDS: RedactionKind[] = ["email", "phone", "card", "account"];
const KIND_LABEL = { email: "redactEmail", phone: "redactPhone", card: "redactCard", account: "redactAccount" } as const;

/** One term a line (commas also separate terms), as the API's list. */
function termsOf(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((term) => term.trim())
    .filter(Boolean);
}

function RedactionForm(props: { id: string; policy: RedactionPolicy; onSave: (policy: RedactionPolicy) => Promise<void>; note: string }) {
  const [enabled, setEnabled] = useState(props.policy.enabled);
  const [kinds, setKinds] = useState<RedactionKind[]>(props.policy.kinds);
  const [terms, setTerms] = useState(props.policy.terms.join("\n"));
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  // Only when the stored policy changes (the session page reloads its data every few seconds).
  const stored = JSON.stringify(props.policy);
  useEffect(() => {
    setEnabled(props.policy.enabled);
    setKinds(props.policy.kinds);
    setTerms(props.policy.terms.join("\n"));
  }, [stored]);

  const toggle = (kind: RedactionKind, on: boolean) => setKinds(KINDS.filter((k) => (k === kind ? on : kinds.includes(k))));
  const save = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setSaved(false);
    try {
      await props.onSave({ enabled, kinds, terms: termsOf(terms) });
      setSaved(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="redaction-form" onSubmit={save} data-enabled={String(enabled)}>
      <p class="muted">{props.note}</p>
      <label class="check">
        <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.currentTarget.checked)} />
        {t("redactOn")}
      </label>
      <fieldset disabled={!enabled}>
        <legend>{t("redactKinds")}</legend>
        {KINDS.map((kind) => (
          <label key={kind} class="check">
            <input type="checkbox" checked={kinds.includes(kind)} onChange={(e) => toggle(kind, e.currentTarget.checked)} />
            {t(KIND_LABEL[kind])}
          </label>
        ))}
        <label for={`${props.id}-terms`}>{t("redactTerms")}</label>
        <textarea id={`${props.id}-terms`} rows={3} value={terms} onInput={(e) => setTerms(e.currentTarget.value)} />
      </fieldset>
      <div class="row">
        <button type="submit" disabled={busy}>
          {t("save")}
        </button>
        {saved && <span role="status">{t("redactSaved")}</span>}
      </div>
      <ErrorText error={error} />
    </form>
  );
}

/** The /redaction page: what new sessions hide unless they are given a policy of their own. */
export function RedactionPage() {
  const policy = useLoad(() => api<RedactionPolicy>("/api/v1/me/redaction"), []);
  return (
    <main id="main" tabIndex={-1}>
      <h1>{t("redactionTitle")}</h1>
      <ErrorText error={policy.error} />
      {policy.data && (
        <section class="card">
          <RedactionForm
            id="default-redaction"
            policy={policy.data}
            note={t("redactDefaultNote")}
            onSave={async (next) => {
              await api<RedactionPolicy>("/api/v1/me/redaction", { method: "PUT", body: next });
              policy.reload();
            }}
          />
        </section>
      )}
    </main>
  );
}

/** A session's own policy, on its page; saving it also redacts what the session has stored. */
export function SessionRedaction(props: { sessionId: string; policy: RedactionPolicy; onChanged: () => void }) {
  return (
    <section class="card" aria-labelledby="redaction-heading">
      <details open={props.policy.enabled}>
        <summary>
          <h2 id="redaction-heading">
            {t("redactionTitle")}: {props.policy.enabled ? t("redactStateOn") : t("redactStateOff")}
          </h2>
        </summary>
        <RedactionForm
          id="session-redaction"
          policy={props.policy}
          note={t("redactSessionNote")}
          onSave={async (next) => {
            await api(`/api/v1/sessions/${props.sessionId}`, { method: "PATCH", body: { redaction: next } });
            props.onChanged();
          }}
        />
      </details>
    </section>
  );
}

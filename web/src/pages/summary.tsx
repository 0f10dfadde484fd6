// Summaries of a session: pick a template, generate (a new version each time), read earlier
// versions formatted (the API renders the Markdown, raw HTML escaped), edit the Markdown and save it
// (a new version; the generated one is kept), copy or download it.

import { useEffect, useState } from "preact/hooks";
import { api, type Summary } from "../api";
import { t } from "../i18n";
import { CopyButton, ErrorText, TemplateSelect, useLoad, useTemplates } from "../ui";

/** The model name an edit is stored under (api_service/summaries.py EDITED). */
const EDITED = "edited-by-user";

function modelName(model: string): string {
  return model === EDITED ? t("summaryEditedBy") : model;
}

export function SummaryPanel(props: { sessionId: string; defaultTemplate: string | null; hasTranscript: boolean }) {
  const templates = useTemplates();
  const history = useLoad(() => api<Summary[]>(`/api/v1/sessions/${props.sessionId}/summaries`), [props.sessionId]);
  const [templateId, setTemplateId] = useState(props.defaultTemplate ?? "");
  const [shown, setShown] = useState<Summary | null>(null);
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState<number | null>(null);
  const [editing, setEditing] = useState(false);

  const show = (summary: Summary | null) => {
    setShown(summary);
    setText(summary?.markdown ?? "");
    setSaved(null);
    setEditing(false);
  };
  useEffect(() => {
    if (!shown && history.data?.length) show(history.data[0]);
  }, [history.data]);

  const generate = async () => {
    setBusy(true);
    setError(null);
    try {
      const summary = await api<Summary>(`/api/v1/sessions/${props.sessionId}/summaries`, {
        method: "POST",
        body: { template_id: templateId || undefined },
      });
      show(summary);
      history.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const save = async () => {
    if (!shown?.id) return;
    setSaving(true);
    setError(null);
    try {
      const summary = await api<Summary>(`/api/v1/sessions/${props.sessionId}/summaries/${shown.id}`, {
        method: "PATCH",
        body: { markdown: text },
      });
      show(summary);
      setSaved(summary.version);
      history.reload();
    } catch (err) {
      setError(err);
    } finally {
      setSaving(false);
    }
  };
  const downloadMarkdown = () => {
    const url = URL.createObjectURL(new Blob([text], { type: "text/markdown" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = "summary.md";
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };

  const versions = history.data ?? [];
  return (
    <section class="card summary" aria-labelledby="summary-heading" aria-busy={busy}>
      <h2 id="summary-heading">{t("summary")}</h2>
      <div class="stack">
        <label for="summary-template">{t("template")}</label>
        <div class="row wrap">
          <TemplateSelect id="summary-template" value={templateId} onChange={setTemplateId} templates={templates} />
          <button type="button" onClick={generate} disabled={busy || !props.hasTranscript}>
            {busy ? t("generating") : t("generateSummary")}
          </button>
        </div>
      </div>
      <ErrorText error={error ?? history.error} />
      {versions.length > 1 && (
        <label class="row wrap">
          <span>{t("summaryVersion")}</span>
          <select
            value={shown?.id ?? ""}
            onChange={(e) => show(versions.find((v) => v.id === e.currentTarget.value) ?? null)}
          >
            {versions.map((v) => (
              <option key={v.id} value={v.id ?? ""}>
                v{v.version} · {modelName(v.model)}
              </option>
            ))}
          </select>
        </label>
      )}
      {shown ? (
        <div class="stack" data-model={shown.model}>
          <p class="muted small">
            {shown.model === EDITED ? t("summaryEditedBy") : t("summaryModel", { model: shown.model })}
          </p>
          {shown.model === "extractive-fallback" && <p class="notice">{t("extractiveNote")}</p>}
          {editing ? (
            <>
              <label for="summary-text">{t("summaryEditable")}</label>
              <textarea id="summary-text" rows={14} value={text} onInput={(e) => setText(e.currentTarget.value)} />
              {text !== shown.markdown && <p class="muted small">{t("summaryEdited")}</p>}
            </>
          ) : (
            // The API's rendering of the Markdown: raw HTML in it is escaped, script links refused.
            <div class="summary-body" dangerouslySetInnerHTML={{ __html: shown.html }} />
          )}
          <p class="muted small" role="status">
            {saved !== null && text === shown.markdown ? t("summarySaved", { version: saved }) : ""}
          </p>
          <div class="row wrap">
            {editing ? (
              <>
                <button type="button" onClick={save} disabled={saving || text === shown.markdown || !text.trim()}>
                  {saving ? t("saving") : t("saveSummary")}
                </button>
                <button
                  type="button"
                  class="secondary"
                  onClick={() => {
                    setText(shown.markdown);
                    setEditing(false);
                  }}
                >
                  {t("cancel")}
                </button>
              </>
            ) : (
              <button type="button" class="secondary" onClick={() => setEditing(true)}>
                {t("editSummary")}
              </button>
            )}
            <CopyButton text={text} />
            <button type="button" class="secondary" onClick={downloadMarkdown}>
              {t("downloadMarkdown")}
            </button>
          </div>
        </div>
      ) : (
        <p class="muted">{t("noSummary")}</p>
      )}
    </section>
  );
}

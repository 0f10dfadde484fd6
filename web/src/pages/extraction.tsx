// The fields a session's template extracts (its JSON Schema filled from the transcript), as a
// labelled list; the detected meeting type when classification chose the template; extract again.

import { useState } from "preact/hooks";
import { api, ApiError, type Classification } from "../api";
import { t } from "../i18n";
import { ErrorText, useLoad } from "../ui";

interface Extraction {
  id: string;
  version: number;
  model: string;
  schema: { properties?: Record<string, { title?: string }> };
  data: Record<string, unknown>;
}

/** Each field's label (the schema's title, else its key) and value, in the schema's order. */
function fields(extraction: Extraction): [string, string, unknown][] {
  const properties = extraction.schema.properties ?? {};
  const keys = [...Object.keys(properties).filter((k) => k in extraction.data), ...Object.keys(extraction.data).filter((k) => !(k in properties))];
  return keys.map((key) => [key, properties[key]?.title ?? key, extraction.data[key]]);
}

function Value({ value }: { value: unknown }) {
  if (value === null || value === undefined || value === "" || (Array.isArray(value) && value.length === 0)) {
    return <span class="muted">{t("notMentioned")}</span>;
  }
  if (typeof value === "boolean") return <>{value ? t("yes") : t("no")}</>;
  if (Array.isArray(value)) {
    return (
      <ul>
        {value.map((item, n) => (
          <li key={n}>
            <Value value={item} />
          </li>
        ))}
      </ul>
    );
  }
  if (typeof value === "object") {
    return (
      <ul>
        {Object.entries(value as Record<string, unknown>).map(([key, item]) => (
          <li key={key}>
            {key}: <Value value={item} />
          </li>
        ))}
      </ul>
    );
  }
  return <>{String(value)}</>;
}

export function ExtractionPanel(props: { sessionId: string; hasTranscript: boolean; classification: Classification | null }) {
  const latest = useLoad(
    () =>
      api<Extraction>(`/api/v1/sessions/${props.sessionId}/extraction`).catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 404) return null; // none yet
        throw err;
      }),
    [props.sessionId],
  );
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const extract = async () => {
    setBusy(true);
    setError(null);
    try {
      await api<Extraction>(`/api/v1/sessions/${props.sessionId}/extraction`, { method: "POST", body: {} });
      latest.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const shown = latest.data;
  const detected = props.classification;
  return (
    <section class="card extraction" aria-labelledby="extraction-heading" aria-busy={busy}>
      <h2 id="extraction-heading">{t("extractedFields")}</h2>
      {detected && (
        <p class="muted small">
          {t("detectedType", { label: detected.label, confidence: Math.round(detected.confidence * 100) })}
        </p>
      )}
      {shown ? (
        <>
          <dl class="fields">
            {fields(shown).map(([key, label, value]) => (
              <div key={key} class="field">
                <dt>{label}</dt>
                <dd>
                  <Value value={value} />
                </dd>
              </div>
            ))}
          </dl>
          <p class="muted small">{t("extractionModel", { version: shown.version, model: shown.model })}</p>
        </>
      ) : (
        latest.data === null && !latest.error && <p class="muted">{t("noExtraction")}</p>
      )}
      <ErrorText error={error ?? latest.error} />
      <button type="button" class="secondary" onClick={extract} disabled={busy || !props.hasTranscript}>
        {busy ? t("extracting") : t("extractFields")}
      </button>
    </section>
  );
}

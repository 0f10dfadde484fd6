// Upload a recording: real upload progress (XHR), then the job's stages as server-sent events
// (polling if the stream breaks), then the transcript.

import { useEffect, useRef, useState } from "preact/hooks";
import { api, serverEvents, uploadWithProgress, type Accepted, type Job } from "../api";
import { t, tMaybe } from "../i18n";
import { navigate } from "../router";
import { ErrorText, LanguageSelect, TemplateSelect, useTemplates } from "../ui";

type Phase =
  | { kind: "idle" }
  | { kind: "uploading"; fraction: number }
  | { kind: "processing"; job: Job | null; accepted: Accepted }
  | { kind: "failed"; message: string };

const FINISHED = new Set(["completed", "failed", "cancelled"]);

/** Follows a job until it finishes: the events feed, or polling when the feed is unavailable. */
async function followJob(jobId: string, signal: AbortSignal, onJob: (job: Job) => void): Promise<Job> {
  let last: Job | null = null;
  try {
    for await (const event of serverEvents(`/api/v1/jobs/${jobId}/events`, signal)) {
      last = JSON.parse(event.data) as Job;
      onJob(last);
      if (FINISHED.has(last.status)) return last;
    }
  } catch (err) {
    if (signal.aborted) throw err;
  }
  for (;;) {
    last = await api<Job>(`/api/v1/jobs/${jobId}`, { signal });
    onJob(last);
    if (FINISHED.has(last.status)) return last;
    await new Promise((resolve) => setTimeout(resolve, 1500));
  }
}

export function UploadPage() {
  const templates = useTemplates();
  const [file, setFile] = useState<File | null>(null);
  const [title, setTitle] = useState("");
  const [language, setLanguage] = useState("");
  const [templateId, setTemplateId] = useState("");
  const [speakers, setSpeakers] = useState("");
  const [phase, setPhase] = useState<Phase>({ kind: "idle" });
  const [error, setError] = useState<unknown>(null);
  const abort = useRef<AbortController | null>(null);

  useEffect(() => () => abort.current?.abort(), []);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (!file) {
      setError(new Error(t("chooseFile")));
      return;
    }
    setError(null);
    const form = new FormData();
    form.append("audio_file", file);
    if (title.trim()) form.append("title", title.trim());
    if (language) form.append("language", language);
    if (templateId) form.append("template_id", templateId);
    if (speakers) form.append("num_speakers", speakers);
    setPhase({ kind: "uploading", fraction: 0 });
    try {
      const accepted = await uploadWithProgress<Accepted>("/api/v1/transcriptions/batch", form, (fraction) =>
        setPhase({ kind: "uploading", fraction }),
      );
      setPhase({ kind: "processing", job: null, accepted });
      abort.current = new AbortController();
      const job = await followJob(accepted.job_id, abort.current.signal, (next) => setPhase({ kind: "processing", job: next, accepted }));
      if (job.status === "completed") navigate(`/sessions/${accepted.session_id}`);
      else setPhase({ kind: "failed", message: job.status === "cancelled" ? t("jobCancelled") : t("jobFailed", { message: job.error ?? "" }) });
    } catch (err) {
      if (!abort.current?.signal.aborted) {
        setPhase({ kind: "idle" });
        setError(err);
      }
    }
  };

  const cancel = async () => {
    if (phase.kind !== "processing") return;
    try {
      await api(`/api/v1/jobs/${phase.accepted.job_id}/cancel`, { method: "POST" });
    } catch (err) {
      setError(err);
    }
  };

  // One progress bar for both steps: the upload fills the first 20%, processing the rest.
  let percent = 0;
  let label = "";
  if (phase.kind === "uploading") {
    percent = Math.round(phase.fraction * 20);
    label = t("uploading", { percent: Math.round(phase.fraction * 100) });
  } else if (phase.kind === "processing") {
    const job = phase.job;
    percent = 20 + Math.round((job?.progress ?? 0) * 0.8);
    label =
      !job || job.status === "queued"
        ? t("queued")
        : t("processing", { stage: tMaybe("stage_", job.stage) || job.status, percent: Math.round(job.progress) });
  }
  const active = phase.kind === "uploading" || phase.kind === "processing";

  return (
    <main id="main" class="narrow" tabIndex={-1}>
      <h1>{t("uploadTitle")}</h1>
      <form class="card stack" onSubmit={submit}>
        <label for="upload-file">{t("audioFile")}</label>
        <input
          id="upload-file"
          type="file"
          accept="audio/*,video/*,.wav,.mp3,.m4a,.flac,.ogg,.opus,.webm"
          required
          disabled={active}
          onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)}
        />
        <label for="upload-title">{t("title")}</label>
        <input id="upload-title" value={title} maxLength={200} disabled={active} onInput={(e) => setTitle(e.currentTarget.value)} />
        <label for="upload-language">{t("spokenLanguage")}</label>
        <LanguageSelect id="upload-language" value={language} onChange={setLanguage} />
        <label for="upload-template">{t("template")}</label>
        <TemplateSelect id="upload-template" value={templateId} onChange={setTemplateId} templates={templates} />
        <label for="upload-speakers">{t("speakerCount")}</label>
        <input
          id="upload-speakers"
          type="number"
          min={1}
          max={20}
          inputMode="numeric"
          value={speakers}
          onInput={(e) => setSpeakers(e.currentTarget.value)}
        />
        <ErrorText error={error} />
        <button type="submit" disabled={active}>
          {t("uploadButton")}
        </button>
      </form>
      {phase.kind !== "idle" && (
        <section class="card progress-card" aria-labelledby="progress-label">
          {phase.kind === "failed" ? (
            <p class="error" role="alert">
              {phase.message}
            </p>
          ) : (
            <>
              <p id="progress-label" role="status" aria-live="polite">
                {label}
              </p>
              <progress
                id="upload-progress"
                max={100}
                value={percent}
                aria-labelledby="progress-label"
                data-phase={phase.kind}
                data-stage={phase.kind === "processing" ? (phase.job?.stage ?? "queued") : "upload"}
              />
              {phase.kind === "processing" && (
                <button type="button" class="secondary" onClick={cancel}>
                  {t("cancelJob")}
                </button>
              )}
            </>
          )}
        </section>
      )}
    </main>
  );
}

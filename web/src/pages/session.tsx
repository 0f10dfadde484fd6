// One session: title (rename, suggested title), status, speakers (rename, merge), the transcript
// with synced playback, the summary, exports and delete.

import { useEffect, useRef, useState } from "preact/hooks";
import { api, download, type SessionDetail, type Speaker, type Transcript } from "../api";
import { clock, formatDate, t, tMaybe } from "../i18n";
import { Link, navigate, useLocation } from "../router";
import { ErrorText, LoadingPage, useLoad } from "../ui";
import { AskPanel } from "./assistant";
import { ExtractionPanel } from "./extraction";
import { SessionRedaction } from "./redaction";
import { SharingPanel } from "./sharing";
import { SummaryPanel } from "./summary";
import { TranscriptPlayer, type SeekTo } from "./transcript";

const FORMATS = [
  ["srt", "SRT"],
  ["vtt", "WebVTT"],
  ["json", "JSON"],
  ["md", "Markdown"],
  ["docx", "Word (DOCX)"],
] as const;

export function SessionPage({ id }: { id: string }) {
  const session = useLoad(() => api<SessionDetail>(`/api/v1/sessions/${id}`), [id]);
  const transcript = useLoad(() => api<Transcript>(`/api/v1/sessions/${id}/transcript`), [id]);
  const [error, setError] = useState<unknown>(null);
  const seekTo = useRef<SeekTo | null>(null); // set by the player: citations play from their moment
  const { query } = useLocation();
  const line = query.get("line");
  const jumpTo = line ? { segmentId: line, startMs: Number(query.get("at")) || 0 } : null; // from a search result
  const data = session.data;
  const reloadAll = () => {
    session.reload();
    transcript.reload();
  };

  // While the meeting may still run or the recording is processed, look again every few seconds,
  // so the page follows the session to its end without a reload.
  const waiting =
    data?.status === "created" || data?.status === "live" || data?.status === "processing" || data?.improving === true;
  useEffect(() => {
    if (!waiting) return;
    const timer = setInterval(reloadAll, 3000);
    return () => clearInterval(timer);
  }, [waiting]);

  if (session.error) {
    return (
      <main id="main" tabIndex={-1}>
        <ErrorText error={session.error} />
        <Link href="/">{t("backToSessions")}</Link>
      </main>
    );
  }
  if (!data) {
    return <LoadingPage />;
  }

  const run = async (action: () => Promise<unknown>) => {
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(err);
    }
  };
  const remove = () =>
    run(async () => {
      if (!confirm(t("confirmDelete", { title: data.title }))) return;
      await api(`/api/v1/sessions/${id}`, { method: "DELETE" });
      navigate("/");
    });

  return (
    <main id="main" class="session" tabIndex={-1}>
      <Link href="/" class="back">
        ← {t("backToSessions")}
      </Link>
      <TitleEditor session={data} onChanged={session.reload} onError={setError} />
      <p class="session-meta">
        <span class={`badge status-${data.status}`}>{tMaybe("status_", data.status)}</span>
        <span>{tMaybe("source_", data.source)}</span>
        <span>{t("createdAt", { date: formatDate(data.created_at) })}</span>
        {data.duration_ms > 0 && <span>{t("duration", { duration: clock(data.duration_ms) })}</span>}
      </p>
      <ErrorText error={error} />
      {data.status === "processing" && <p role="status">{t("stillProcessing")}</p>}
      {data.improving && data.status === "completed" && (
        <p role="status" class="notice">
          {t("improvingTranscript")}
        </p>
      )}
      <div class="toolbar">
        {data.status === "live" || data.status === "created" ? (
          <Link href={`/join/${data.id}`} class="button">
            {t("rejoin")}
          </Link>
        ) : null}
        <button type="button" class="danger" onClick={remove}>
          {t("deleteSession")}
        </button>
      </div>

      <div class="session-grid">
        <div class="session-main">
          <TranscriptPlayer
            sessionId={id}
            transcript={transcript.data}
            error={transcript.error}
            finished={data.status === "completed"}
            seekRef={seekTo}
            jumpTo={jumpTo}
          />
        </div>
        <div class="session-side">
          <AskPanel
            sessionId={id}
            live={data.status === "live"}
            onCite={(citation) => seekTo.current?.(citation.segment_id, citation.start_ms)}
          />
          <SpeakersPanel sessionId={id} speakers={data.speakers} onChanged={reloadAll} />
          <SessionRedaction sessionId={id} policy={data.redaction} onChanged={reloadAll} />
          <SummaryPanel sessionId={id} defaultTemplate={data.template_id} hasTranscript={data.segment_count > 0} />
          <ExtractionPanel sessionId={id} hasTranscript={data.segment_count > 0} classification={data.classification ?? null} />
          {data.source !== "upload" && <SharingPanel session={data} onChanged={session.reload} />}
          <section class="card" aria-labelledby="export-heading">
            <h2 id="export-heading">{t("exports")}</h2>
            <div class="row wrap">
              {FORMATS.map(([format, label]) => (
                <button
                  key={format}
                  type="button"
                  class="secondary"
                  data-format={format}
                  onClick={() => run(() => download(`/api/v1/sessions/${id}/export?format=${format}`, `${data.title}.${format}`))}
                >
                  {label}
                </button>
              ))}
            </div>
          </section>
        </div>
      </div>
    </main>
  );
}

function TitleEditor(props: { session: SessionDetail; onChanged: () => void; onError: (error: unknown) => void }) {
  const [editing, setEditing] = useState(false);
  const [title, setTitle] = useState(props.session.title);
  const [proposal, setProposal] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const act = async (action: () => Promise<unknown>) => {
    setBusy(true);
    props.onError(null);
    try {
      await action();
      props.onChanged();
    } catch (err) {
      props.onError(err);
    } finally {
      setBusy(false);
    }
  };
  const rename = (to: string) =>
    act(async () => {
      await api(`/api/v1/sessions/${props.session.id}`, { method: "PATCH", body: { title: to } });
      setEditing(false);
      setProposal(null);
    });
  const save = (event: Event) => {
    event.preventDefault();
    void rename(title);
  };
  // A suggestion is only offered: the title changes when the user takes it.
  const suggest = () =>
    act(async () => {
      const out = await api<{ title: string }>("/api/v1/generate-title", { method: "POST", body: { session_id: props.session.id } });
      setProposal(out.title);
    });

  if (editing) {
    return (
      <form class="row wrap title-form" onSubmit={save}>
        <label for="session-title" class="visually-hidden">
          {t("title")}
        </label>
        <input id="session-title" class="grow" value={title} required maxLength={200} onInput={(e) => setTitle(e.currentTarget.value)} />
        <button type="submit" disabled={busy}>
          {t("save")}
        </button>
        <button type="button" class="secondary" onClick={() => setEditing(false)}>
          {t("cancel")}
        </button>
      </form>
    );
  }
  return (
    <div class="page-head">
      <h1 id="session-heading">{props.session.title}</h1>
      <div class="actions">
        <button
          type="button"
          class="secondary"
          onClick={() => {
            setTitle(props.session.title);
            setEditing(true);
          }}
        >
          {t("rename")}
        </button>
        <button type="button" class="secondary" disabled={busy || props.session.segment_count === 0} onClick={suggest}>
          {busy ? t("generating") : t("generateTitle")}
        </button>
      </div>
      {proposal !== null && (
        <div class="notice row wrap title-proposal" role="status">
          <span class="grow">{t("titleProposal", { title: proposal })}</span>
          <button type="button" disabled={busy} onClick={() => void rename(proposal)}>
            {t("useTitle")}
          </button>
          <button type="button" class="secondary" onClick={() => setProposal(null)}>
            {t("dismiss")}
          </button>
        </div>
      )}
    </div>
  );
}

function SpeakersPanel(props: { sessionId: string; speakers: Speaker[]; onChanged: () => void }) {
  const [names, setNames] = useState<Record<string, string>>({});
  const [source, setSource] = useState("");
  const [target, setTarget] = useState("");
  const [error, setError] = useState<unknown>(null);
  // The last merge, until undone or another change: its answer says how to undo it.
  const [lastMerge, setLastMerge] = useState<{ source: string; target: string; undo: unknown } | null>(null);
  const run = async (action: () => Promise<unknown>) => {
    setError(null);
    try {
      await action();
      props.onChanged();
    } catch (err) {
      setError(err);
    }
  };
  const rename = (label: string) => (event: Event) => {
    event.preventDefault();
    const display_name = (names[label] ?? "").trim();
    if (!display_name) return;
    void run(() => api(`/api/v1/sessions/${props.sessionId}/speakers/${encodeURIComponent(label)}`, { method: "PATCH", body: { display_name } }));
  };
  const label = (speaker: Speaker) => speaker.display_name ?? speaker.label;
  const nameOf = (value: string) => label(props.speakers.find((speaker) => speaker.label === value) ?? { label: value, display_name: null });
  const merge = (event: Event) => {
    event.preventDefault();
    if (!source || !target || source === target) return;
    if (!confirm(t("confirmMerge", { source: nameOf(source), target: nameOf(target) }))) return;
    void run(async () => {
      const merged = await api<{ undo: unknown }>(`/api/v1/sessions/${props.sessionId}/speakers/merge`, {
        method: "POST",
        body: { source, target },
      });
      setLastMerge({ source: nameOf(source), target: nameOf(target), undo: merged.undo });
      setSource("");
      setTarget("");
    });
  };
  const undoMerge = () => {
    const done = lastMerge;
    if (!done) return;
    void run(async () => {
      await api(`/api/v1/sessions/${props.sessionId}/speakers/split`, { method: "POST", body: done.undo });
      setLastMerge(null);
    });
  };

  return (
    <section class="card" aria-labelledby="speakers-heading">
      <h2 id="speakers-heading">{t("speakers")}</h2>
      <ErrorText error={error} />
      {lastMerge && (
        <p class="notice row wrap" role="status">
          <span>{t("merged", { source: lastMerge.source, target: lastMerge.target })}</span>
          <button type="button" class="secondary" onClick={undoMerge}>
            {t("undo")}
          </button>
        </p>
      )}
      {props.speakers.length === 0 && <p class="muted">{t("noSpeakers")}</p>}
      <ul class="speakers">
        {props.speakers.map((speaker, i) => (
          <li key={speaker.label} data-label={speaker.label}>
            <form class="row wrap" onSubmit={rename(speaker.label)}>
              <label for={`speaker-${i}`} class="small muted block">
                {t("speakerName", { label: speaker.label })}
              </label>
              <input
                id={`speaker-${i}`}
                class="grow"
                value={names[speaker.label] ?? speaker.display_name ?? ""}
                placeholder={speaker.label}
                maxLength={200}
                onInput={(e) => setNames({ ...names, [speaker.label]: e.currentTarget.value })}
              />
              <button type="submit" class="secondary">
                {t("rename")}
              </button>
            </form>
          </li>
        ))}
      </ul>
      {props.speakers.length > 1 && (
        <form class="row wrap merge" onSubmit={merge}>
          <label for="merge-source" class="small muted">
            {t("mergeSpeaker")}
          </label>
          <select id="merge-source" value={source} onChange={(e) => setSource(e.currentTarget.value)}>
            <option value="">—</option>
            {props.speakers.map((speaker) => (
              <option key={speaker.label} value={speaker.label}>
                {label(speaker)}
              </option>
            ))}
          </select>
          <label for="merge-target" class="small muted">
            {t("into")}
          </label>
          <select id="merge-target" value={target} onChange={(e) => setTarget(e.currentTarget.value)}>
            <option value="">—</option>
            {props.speakers
              .filter((speaker) => speaker.label !== source)
              .map((speaker) => (
                <option key={speaker.label} value={speaker.label}>
                  {label(speaker)}
                </option>
              ))}
          </select>
          <button type="submit" class="secondary" disabled={!source || !target || source === target}>
            {t("merge")}
          </button>
        </form>
      )}
    </section>
  );
}

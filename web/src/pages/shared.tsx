// A meeting shared with the people who took part in it: its title, when it was, the latest
// summary and the transcript, read-only (no recordings, no editing). The API decides who may
// read it (GET /api/v1/shared/<id>); anyone else is told it is not available to them.

import { useEffect } from "preact/hooks";
import { api, ApiError, type SharedSession, type Transcript } from "../api";
import { clock, formatDate, t, tMaybe } from "../i18n";
import { Link } from "../router";
import { ErrorText, LoadingPage, useLoad } from "../ui";

export function SharedSessionPage({ id }: { id: string }) {
  const session = useLoad(() => api<SharedSession>(`/api/v1/shared/${id}`), [id]);
  const transcript = useLoad(() => api<Transcript>(`/api/v1/shared/${id}/transcript`), [id]);
  const data = session.data;

  // While the meeting runs or its transcript is still improved, look again every few seconds.
  const waiting = data?.status === "created" || data?.status === "live" || data?.status === "processing" || data?.improving === true;
  useEffect(() => {
    if (!waiting) return;
    const timer = setInterval(() => {
      session.reload();
      transcript.reload();
    }, 5000);
    return () => clearInterval(timer);
  }, [waiting]);

  if (session.error) {
    const hidden = session.error instanceof ApiError && session.error.status === 404;
    return (
      <main id="main" class="narrow" tabIndex={-1}>
        <h1>{t("transcript")}</h1>
        {hidden ? (
          <p class="notice" role="status">
            {t("sharedUnavailable")}
          </p>
        ) : (
          <ErrorText error={session.error} />
        )}
        <Link href="/">{t("backToSessions")}</Link>
      </main>
    );
  }
  if (!data) {
    return <LoadingPage />;
  }
  const segments = transcript.data?.segments ?? [];
  return (
    <main id="main" class="session shared-session" tabIndex={-1}>
      <h1>{data.title}</h1>
      <p class="session-meta">
        <span class={`badge status-${data.status}`}>{tMaybe("status_", data.status)}</span>
        {data.started_at && <span>{formatDate(data.started_at)}</span>}
        {data.duration_ms > 0 && <span>{t("duration", { duration: clock(data.duration_ms) })}</span>}
      </p>
      <p class="muted">{t("sharedNote")}</p>
      {data.status === "live" && <p role="status">{t("sharedLive")}</p>}
      {data.improving && data.status === "completed" && (
        <p role="status" class="notice">
          {t("improvingTranscript")}
        </p>
      )}
      {data.summary && (
        <section class="card summary" aria-labelledby="shared-summary-heading">
          <h2 id="shared-summary-heading">{t("summary")}</h2>
          <div class="summary-body" dangerouslySetInnerHTML={{ __html: data.summary.html }} />
        </section>
      )}
      <section aria-labelledby="transcript-heading">
        <h2 id="transcript-heading">{t("transcript")}</h2>
        <ErrorText error={transcript.error} />
        {transcript.data && segments.length === 0 && <p class="muted">{t(data.status === "completed" ? "noSpeech" : "transcriptEmpty")}</p>}
        <ol class="transcript shared-transcript">
          {segments.map((segment) => (
            <li key={segment.segment_id} data-segment-id={segment.segment_id} data-speaker={segment.speaker ?? ""}>
              <p class="line">
                <span class="line-time">{clock(segment.start_ms)}</span>
                <span class="line-speaker">{segment.speaker_name ?? segment.speaker ?? "—"}</span>
                <span class="line-text">{segment.text}</span>
              </p>
            </li>
          ))}
        </ol>
      </section>
    </main>
  );
}

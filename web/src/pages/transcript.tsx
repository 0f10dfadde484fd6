// The transcript with its audio: each line is a button that plays from there, and the line being
// played is highlighted. Times are on the session clock; each recording (one per participant of a
// live meeting, or the uploaded file) starts at its own offset on that clock.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, fetchBlob, type Recording, type Segment, type Transcript } from "../api";
import { bytes, clock, t } from "../i18n";
import { ErrorText, useLoad } from "../ui";

const AUTOLOAD_BYTES = 64 * 1024 * 1024; // larger recordings load when asked

/** The recording track a speaker label belongs to: a participant, or the device of a room-mic voice. */
function trackOf(speaker: string | null): string | null {
  return speaker ? speaker.split(":")[0] : null;
}

/** Plays from a moment of the transcript: a segment's (its speaker's recording), else `startMs`. */
export type SeekTo = (segmentId: string, startMs: number) => void;

export function TranscriptPlayer(props: {
  sessionId: string;
  transcript: Transcript | null;
  error: unknown;
  finished: boolean;
  seekRef?: { current: SeekTo | null };
  /** A line to open the page at (from a search): brought into view, focused, and the recording set there. */
  jumpTo?: { segmentId: string; startMs: number } | null;
}) {
  const { sessionId, transcript } = props;
  const recordings = useLoad(() => api<Recording[]>(`/api/v1/sessions/${sessionId}/recordings`), [sessionId, transcript?.segments.length]);
  const [recordingId, setRecordingId] = useState<string | null>(null);
  const [sources, setSources] = useState<Record<string, string>>({});
  const [loadError, setLoadError] = useState<unknown>(null);
  const [nowMs, setNowMs] = useState(-1);
  const [playing, setPlaying] = useState(false);
  const audio = useRef<HTMLAudioElement>(null);
  const pendingSeek = useRef<number | null>(null);
  const pendingPlay = useRef(true);
  const listRef = useRef<HTMLOListElement>(null);
  const made = useRef<string[]>([]); // object URLs to release when the page closes

  const list = recordings.data ?? [];
  const recording = list.find((r) => r.id === recordingId) ?? list[0] ?? null;
  const src = recording ? sources[recording.id] : undefined;

  const loading = useRef(new Set<string>()); // fetched or being fetched: once, however many ask
  const load = async (r: Recording) => {
    if (sources[r.id] || loading.current.has(r.id)) return;
    loading.current.add(r.id);
    setLoadError(null);
    try {
      const { blob } = await fetchBlob(`/api/v1/sessions/${sessionId}/recordings/${r.id}/audio`);
      const url = URL.createObjectURL(blob);
      made.current.push(url);
      setSources((s) => ({ ...s, [r.id]: url }));
    } catch (err) {
      loading.current.delete(r.id); // may be asked again
      setLoadError(err);
    }
  };
  useEffect(() => {
    if (recording && recording.bytes <= AUTOLOAD_BYTES) void load(recording);
  }, [recording?.id]);
  useEffect(() => () => made.current.forEach((url) => URL.revokeObjectURL(url)), []);

  // With one recording per participant, a line is played from its speaker's own recording
  // (voices on a room microphone, "device-<id>:S<n>", from the device's).
  const tracks = useMemo(() => new Set(list.map((r) => r.track)), [list]);
  const segments = transcript?.segments ?? [];
  const current = useMemo(() => {
    if (nowMs < 0 || !recording) return null;
    const own = tracks.has(recording.track) && segments.some((s) => trackOf(s.speaker) === recording.track);
    const candidates = own ? segments.filter((s) => trackOf(s.speaker) === recording.track) : segments;
    return candidates.find((s) => s.start_ms <= nowMs && nowMs < Math.max(s.end_ms, s.start_ms + 300))?.segment_id ?? null;
  }, [nowMs, recording, segments, tracks]);

  useEffect(() => {
    if (!current || !playing) return;
    listRef.current?.querySelector(`[data-segment-id="${CSS.escape(current)}"]`)?.scrollIntoView({ block: "nearest" });
  }, [current, playing]);

  const seek = (segment: Pick<Segment, "start_ms" | "speaker">, play = true) => {
    const target = list.find((r) => r.track === trackOf(segment.speaker)) ?? recording;
    if (!target) return;
    const seconds = Math.max(0, (segment.start_ms - target.offset_ms) / 1000);
    pendingPlay.current = play;
    if (target.id !== recording?.id || !sources[target.id]) {
      pendingSeek.current = seconds;
      setRecordingId(target.id);
      void load(target);
      return;
    }
    const element = audio.current;
    if (element) {
      element.currentTime = seconds;
      if (play) void element.play().catch(() => {});
    }
  };

  // Opened at a line (a search result): once the transcript and the recordings are known, the
  // line is shown and focused, and the recording waits at its moment (played when asked).
  const jumped = useRef(false);
  useEffect(() => {
    const jump = props.jumpTo;
    if (!jump || jumped.current || !transcript || !recordings.data) return;
    jumped.current = true;
    const line = listRef.current?.querySelector<HTMLElement>(`[data-segment-id="${CSS.escape(jump.segmentId)}"]`);
    line?.scrollIntoView({ block: "center" });
    line?.querySelector("button")?.focus({ preventScroll: true });
    if (list.length) seek(segments.find((s) => s.segment_id === jump.segmentId) ?? { start_ms: jump.startMs, speaker: null }, false);
  }, [transcript, recordings.data]);

  // For citations elsewhere on the page: the line is brought into view and played when there is
  // a recording, else focused.
  const seekTo: SeekTo = (segmentId, startMs) => {
    const line = listRef.current?.querySelector<HTMLElement>(`[data-segment-id="${CSS.escape(segmentId)}"]`);
    line?.scrollIntoView({ block: "nearest" });
    if (list.length) seek(segments.find((s) => s.segment_id === segmentId) ?? { start_ms: startMs, speaker: null });
    else line?.querySelector("button")?.focus();
  };
  if (props.seekRef) props.seekRef.current = seekTo;

  const onLoaded = () => {
    const element = audio.current;
    if (element && pendingSeek.current !== null) {
      element.currentTime = pendingSeek.current;
      pendingSeek.current = null;
      if (pendingPlay.current) void element.play().catch(() => {});
    }
  };

  return (
    <section aria-labelledby="transcript-heading">
      <h2 id="transcript-heading">{t("transcript")}</h2>
      <div class="player card">
        {recordings.data && list.length === 0 && <p class="muted">{t("audioUnavailable")}</p>}
        {list.length > 1 && (
          <label class="row wrap">
            <span>{t("recording")}</span>
            <select value={recording?.id} onChange={(e) => setRecordingId(e.currentTarget.value)}>
              {list.map((r) => (
                <option key={r.id} value={r.id}>
                  {r.track} ({clock(r.duration_ms)})
                </option>
              ))}
            </select>
          </label>
        )}
        {recording && !src && recording.bytes > AUTOLOAD_BYTES && (
          <button type="button" class="secondary" onClick={() => load(recording)}>
            {t("loadAudio", { size: bytes(recording.bytes) })}
          </button>
        )}
        {recording && (
          <audio
            ref={audio}
            controls
            preload="auto"
            src={src}
            aria-label={t("recording")}
            onLoadedMetadata={onLoaded}
            onTimeUpdate={(e) => setNowMs(e.currentTarget.currentTime * 1000 + recording.offset_ms)}
            onPlay={() => setPlaying(true)}
            onPause={() => setPlaying(false)}
          />
        )}
        <ErrorText error={loadError} />
      </div>
      <ErrorText error={props.error} />
      {transcript && segments.length === 0 && <p class="muted">{t(props.finished ? "noSpeech" : "transcriptEmpty")}</p>}
      <ol class="transcript" ref={listRef}>
        {segments.map((segment) => (
          <li
            key={segment.segment_id}
            data-segment-id={segment.segment_id}
            data-speaker={segment.speaker ?? ""}
            aria-current={segment.segment_id === current ? "true" : undefined}
            class={segment.segment_id === current ? "current" : ""}
          >
            <button type="button" class="line" onClick={() => seek(segment)}>
              <span class="line-time">
                <span class="visually-hidden">{t("playFrom")} </span>
                {clock(segment.start_ms)}
              </span>
              <span class="line-speaker">{segment.speaker_name ?? segment.speaker ?? "—"}</span>
              <span class="line-text">{segment.text}</span>
            </button>
          </li>
        ))}
      </ol>
    </section>
  );
}

// The meeting assistant: questions about one meeting, answered from its transcript (streamed in
// as server-sent events while the model writes), and the catch-up brief for someone who joined
// late. Both cite transcript segments, shown as "[mm:ss] Speaker" chips; where the page has a
// player (the session page) a chip plays from that moment.

import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, serverEvents, type AskAnswer, type Brief, type BriefItem, type Citation } from "../api";
import { clock, t } from "../i18n";
import { ErrorText } from "../ui";

export type OnCite = (citation: Citation) => void;

/** Joined at least this far into the meeting: "since I joined" is offered as a starting point. */
const LATE_MS = 5_000;
const MAX_QUESTION = 2000; // api_service/schemas/assistant.py MAX_QUESTION_CHARS

export function CitationChip({ citation, onCite }: { citation: Citation; onCite?: OnCite }) {
  const time = clock(citation.start_ms);
  const speaker = citation.speaker ?? t("unknownSpeaker");
  const text = `[${time}] ${speaker}`;
  if (onCite) {
    return (
      <button
        type="button"
        class="chip"
        data-ref={citation.ref}
        data-segment-id={citation.segment_id}
        aria-label={t("citeSeek", { time, speaker })}
        title={citation.text}
        onClick={() => onCite(citation)}
      >
        {text}
      </button>
    );
  }
  return (
    <span class="chip" data-ref={citation.ref} data-segment-id={citation.segment_id} title={citation.text}>
      {text}
    </span>
  );
}

/** The answer's note (why it is passages of the transcript, or why it stopped) and the rest of it. */
export function noteAndBody(answer: AskAnswer): { note: string | null; body: string } {
  let body = answer.answer.trim();
  let note = answer.note ?? null;
  if (answer.model === null) {
    // Passages instead of a model's answer: the first paragraph says why.
    const cut = body.indexOf("\n\n");
    if (cut > 0) {
      note = body.slice(0, cut).trim();
      body = body.slice(cut + 2).trim();
    }
  } else if (note && body.endsWith(`(${note})`)) {
    body = body.slice(0, body.length - note.length - 2).trim();
  }
  return { note, body };
}

/** Text with its "[k]" citation markers set apart. */
function WithRefs({ text }: { text: string }) {
  return (
    <>
      {text.split(/(\[\d+\])/).map((part, i) =>
        /^\[\d+\]$/.test(part) ? (
          <span key={i} class="ref">
            {part}
          </span>
        ) : (
          part
        ),
      )}
    </>
  );
}

function Sources({ citations, onCite }: { citations: Citation[]; onCite?: OnCite }) {
  return (
    <div class="sources">
      <p class="small muted sources-label" aria-hidden="true">
        {t("sources")}
      </p>
      <ol class="citations" aria-label={t("sources")}>
        {citations.map((citation) => (
          <li key={citation.ref} value={citation.ref} data-segment-id={citation.segment_id}>
            <CitationChip citation={citation} onCite={onCite} />
            <span class="cite-text">{citation.text}</span>
          </li>
        ))}
      </ol>
    </div>
  );
}

function Answer({ answer, onCite }: { answer: AskAnswer; onCite?: OnCite }) {
  const { note, body } = noteAndBody(answer);
  // Without a model the answer is the matching passages: shown once, as the sources.
  const passages = answer.model === null && answer.citations.length > 0;
  return (
    <div class="answer" data-model={answer.model ?? ""}>
      {note && <p class="notice answer-note">{note}</p>}
      {!passages && body && (
        <p class="answer-text">
          <WithRefs text={body} />
        </p>
      )}
      {answer.citations.length > 0 && <Sources citations={answer.citations} onCite={onCite} />}
      {answer.model && <p class="muted small">{t("answeredBy", { model: answer.model })}</p>}
    </div>
  );
}

interface Turn {
  id: number;
  question: string;
  text: string; // as streamed so far
  answer: AskAnswer | null;
  error: unknown;
  streaming: boolean;
}

/** "Ask about this meeting": a question box and the answers so far, each streamed in as written. */
export function AskPanel({ sessionId, live, onCite }: { sessionId: string; live: boolean; onCite?: OnCite }) {
  const [question, setQuestion] = useState("");
  const [turns, setTurns] = useState<Turn[]>([]);
  const controller = useRef<AbortController | null>(null);
  const counter = useRef(0);
  useEffect(() => () => controller.current?.abort(), []);

  const busy = turns.some((turn) => turn.streaming);
  const update = (id: number, change: (turn: Turn) => Turn) =>
    setTurns((list) => list.map((turn) => (turn.id === id ? change(turn) : turn)));

  const ask = async (event: Event) => {
    event.preventDefault();
    const text = question.trim();
    if (!text || busy) return;
    const id = ++counter.current;
    const abort = new AbortController();
    controller.current = abort;
    setTurns((list) => [...list, { id, question: text, text: "", answer: null, error: null, streaming: true }]);
    setQuestion("");
    try {
      const path = `/api/v1/sessions/${encodeURIComponent(sessionId)}/ask`;
      for await (const message of serverEvents(path, abort.signal, { question: text })) {
        if (message.event === "delta") {
          const piece = (JSON.parse(message.data) as { text: string }).text;
          update(id, (turn) => ({ ...turn, text: turn.text + piece }));
        } else if (message.event === "done") {
          const answer = JSON.parse(message.data) as AskAnswer;
          update(id, (turn) => ({ ...turn, text: answer.answer, answer }));
        } else if (message.event === "error") {
          const failed = JSON.parse(message.data) as { detail: string; status?: number };
          throw new ApiError(failed.status ?? 503, failed.detail);
        }
      }
      update(id, (turn) => (turn.answer ? turn : { ...turn, error: new Error(t("answerCut")) }));
    } catch (err) {
      if (!abort.signal.aborted) update(id, (turn) => ({ ...turn, error: err }));
    } finally {
      update(id, (turn) => ({ ...turn, streaming: false }));
    }
  };

  return (
    <section class="card assistant" aria-labelledby="ask-heading">
      <h2 id="ask-heading">{t("askTitle")}</h2>
      <p class="muted small">{live ? t("askHelpLive") : t("askHelp")}</p>
      {turns.length > 0 && (
        <ol class="chat">
          {turns.map((turn) => (
            <li key={turn.id} class="turn" data-state={turn.streaming ? "streaming" : turn.error ? "error" : "done"}>
              <p class="turn-question">
                <span class="visually-hidden">{t("youAsked")} </span>
                {turn.question}
              </p>
              {/* Announced once the answer is complete (aria-busy holds it back while it streams). */}
              <div class="turn-answer" aria-live="polite" aria-busy={turn.streaming ? "true" : "false"}>
                {turn.answer ? (
                  <Answer answer={turn.answer} onCite={onCite} />
                ) : (
                  <p class="answer-text streaming">
                    {turn.text}
                    {turn.streaming && <span class="muted">{turn.text ? " …" : t("answering")}</span>}
                  </p>
                )}
                <ErrorText error={turn.error} />
              </div>
            </li>
          ))}
        </ol>
      )}
      <form class="stack ask-form" onSubmit={ask}>
        <label for="ask-question">{t("askLabel")}</label>
        <div class="row">
          <input
            id="ask-question"
            class="grow"
            value={question}
            maxLength={MAX_QUESTION}
            autoComplete="off"
            placeholder={t("askPlaceholder")}
            onInput={(e) => setQuestion(e.currentTarget.value)}
          />
          <button type="submit" disabled={busy}>
            {busy ? t("answering") : t("askButton")}
          </button>
        </div>
      </form>
    </section>
  );
}

const PARTS = [
  ["discussed", "discussed"],
  ["decisions", "decisions"],
  ["open_questions", "openQuestions"],
] as const;

function BriefView({ brief, onCite }: { brief: Brief; onCite?: OnCite }) {
  const byRef = new Map(brief.citations.map((citation) => [citation.ref, citation]));
  const cited = (item: BriefItem) => item.refs.map((ref) => byRef.get(ref)).filter((c): c is Citation => c !== undefined);
  return (
    <div class="brief" data-model={brief.model ?? ""}>
      {brief.note && <p class="notice brief-note">{brief.note}</p>}
      <p class="muted small">
        {brief.since_ms > 0 ? t("briefSince", { time: clock(brief.since_ms) }) : t("briefFromStart")}
        {brief.model ? ` · ${t("briefBy", { model: brief.model })}` : ""}
      </p>
      {PARTS.map(([part, key]) => {
        const items = brief[part];
        return (
          <div key={part} class="brief-part" data-part={part}>
            <h3 id={`brief-${part}`}>{t(key)}</h3>
            {items.length === 0 ? (
              <p class="muted small">{t("briefNone")}</p>
            ) : (
              <ul aria-labelledby={`brief-${part}`}>
                {items.map((item, i) => (
                  <li key={i}>
                    <span class="brief-text">{item.text}</span>{" "}
                    {cited(item).map((citation) => (
                      <CitationChip key={citation.ref} citation={citation} onCite={onCite} />
                    ))}
                  </li>
                ))}
              </ul>
            )}
          </div>
        );
      })}
    </div>
  );
}

/** "Catch me up": what was discussed, decided and left open, from the start of the meeting or
 * (when the page knows it, and it was a while in) from when this person joined. */
export function CatchUpPanel({ sessionId, joinedMs, onCite }: { sessionId: string; joinedMs: number | null; onCite?: OnCite }) {
  const [from, setFrom] = useState<"start" | "joined">("start");
  const [brief, setBrief] = useState<Brief | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const late = joinedMs !== null && joinedMs >= LATE_MS;
  const since = late && from === "joined" ? Math.round(joinedMs) : 0;

  const load = async () => {
    setBusy(true);
    setError(null);
    try {
      setBrief(await api<Brief>(`/api/v1/sessions/${encodeURIComponent(sessionId)}/brief?since_ms=${since}`));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card catch-up" aria-labelledby="catch-up-heading" aria-busy={busy}>
      <h2 id="catch-up-heading">{t("catchUp")}</h2>
      <p class="muted small">{t("catchUpHelp")}</p>
      {late && (
        <fieldset class="choices">
          <legend class="small">{t("catchUpFrom")}</legend>
          <label>
            <input type="radio" name="catch-up-from" checked={from === "start"} onChange={() => setFrom("start")} />{" "}
            {t("fromStart")}
          </label>
          <label>
            <input type="radio" name="catch-up-from" checked={from === "joined"} onChange={() => setFrom("joined")} />{" "}
            {t("sinceJoined", { time: clock(joinedMs) })}
          </label>
        </fieldset>
      )}
      <button type="button" onClick={load} disabled={busy}>
        {busy ? t("catchingUp") : brief ? t("catchUpAgain") : t("catchUp")}
      </button>
      <ErrorText error={error} />
      <p class="visually-hidden" role="status">
        {brief && !busy ? t("briefReady") : ""}
      </p>
      {brief && <BriefView brief={brief} onCite={onCite} />}
    </section>
  );
}

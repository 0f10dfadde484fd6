// One session in the sessions list; with a search, the lines of its transcript that match, each
// a link to that moment of the session page ([mm:ss] Speaker: text, the searched words marked).

import type { ComponentChildren } from "preact";
import type { Session } from "../api";
import { clock, formatDate, t, tMaybe } from "../i18n";
import { Link } from "../router";

const UNSPACED = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]/u;

/** `text` with the words that start with a searched term (any part, for unspaced scripts) in <mark>. */
export function highlight(text: string, query: string): ComponentChildren[] {
  const terms = query
    .split(/\s+/)
    .map((term) => term.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, ""))
    .filter(Boolean)
    .sort((a, b) => b.length - a.length);
  if (!terms.length) return [text];
  const pattern = terms
    .map((term) => {
      const escaped = term.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      return UNSPACED.test(term) ? escaped : `(?<![\\p{L}\\p{N}])${escaped}[\\p{L}\\p{N}]*`;
    })
    .join("|");
  const out: ComponentChildren[] = [];
  let last = 0;
  for (const found of text.matchAll(new RegExp(pattern, "giu"))) {
    const at = found.index ?? 0;
    if (!found[0]) continue;
    if (at > last) out.push(text.slice(last, at));
    out.push(<mark key={at}>{found[0]}</mark>);
    last = at + found[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

export function SessionItem({ session, query }: { session: Session; query: string }) {
  const matches = session.matches ?? [];
  return (
    <li data-session-id={session.id}>
      <Link href={`/sessions/${session.id}`} class="session-link">
        <span class="session-title">{session.title}</span>
        <span class="session-meta">
          <span class={`badge status-${session.status}`}>{tMaybe("status_", session.status)}</span>
          <span>{tMaybe("source_", session.source)}</span>
          <span>{formatDate(session.created_at)}</span>
          {session.duration_ms > 0 && <span>{clock(session.duration_ms)}</span>}
        </span>
      </Link>
      {matches.length > 0 && (
        <ul class="search-matches" aria-label={t("matchingLines", { title: session.title })}>
          {matches.map((line) => (
            <li key={line.segment_id}>
              <Link
                href={`/sessions/${session.id}?line=${encodeURIComponent(line.segment_id)}&at=${line.start_ms}`}
                class="search-match"
                data-segment-id={line.segment_id}
              >
                <span class="line-time">[{clock(line.start_ms)}]</span> {line.speaker && <span class="line-speaker">{line.speaker}:</span>}{" "}
                <span class="line-text">{highlight(line.text, query)}</span>
              </Link>
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}

// Live captions as the agent publishes them: LiveKit text streams on `lk.transcription`, one per
// partial or final, sharing `lk.segment_id`. A partial shows provisionally until the final with
// the same id replaces it; a partial arriving after its final is ignored.

export const TRANSCRIPTION_TOPIC = "lk.transcription";

export interface Caption {
  id: string;
  speaker: string; // participant identity, or device-<id>:S<n> for a voice on a room microphone
  speakerName: string;
  text: string;
  final: boolean;
  startMs: number;
  endMs: number;
}

const KEEP = 500; // captions kept on screen; the full transcript is on the session page

export function captionFrom(text: string, attributes: Record<string, string>, identity: string, name: string): Caption {
  return {
    id: attributes["lk.segment_id"] ?? `${identity}-${Date.now()}`,
    speaker: attributes["intrascribe.speaker"] || identity,
    speakerName: attributes["intrascribe.speaker_name"] || name || identity,
    text: text.trim(),
    final: attributes["lk.transcription_final"] === "true",
    startMs: Number(attributes["intrascribe.start_ms"] ?? 0),
    endMs: Number(attributes["intrascribe.end_ms"] ?? 0),
  };
}

/** The caption list after one caption arrives, ordered by when the speech started. */
export function applyCaption(list: Caption[], caption: Caption): Caption[] {
  const index = list.findIndex((c) => c.id === caption.id);
  if (index >= 0) {
    if (list[index].final && !caption.final) return list; // a late partial
    if (!caption.text) return list.filter((_, i) => i !== index); // nothing was said after all
    const next = list.slice();
    next[index] = caption;
    return next;
  }
  if (!caption.text) return list;
  const next = [...list, caption].sort((a, b) => a.startMs - b.startMs);
  return next.length > KEEP ? next.slice(next.length - KEEP) : next;
}

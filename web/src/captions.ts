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

/** A caption as LiveKit delivered it: ``identity`` is the participant it was sent for (LiveKit
 * enforces it: only agents send on behalf of others) and ``name`` that participant's name. The
 * caption may name a voice on that participant's room microphone (``device-<id>:S<n>``), never
 * anyone else, so a participant publishing on this topic cannot caption in another's name. */
export function captionFrom(text: string, attributes: Record<string, string>, identity: string, name: string): Caption {
  const claimed = attributes["intrascribe.speaker"] ?? "";
  const voice = claimed.startsWith(`${identity}:`);
  return {
    id: attributes["lk.segment_id"] ?? `${identity}-${Date.now()}`,
    speaker: voice ? claimed : identity,
    speakerName: (voice ? attributes["intrascribe.speaker_name"] : name) || attributes["intrascribe.speaker_name"] || identity,
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

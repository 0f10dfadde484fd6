// The API client: JSON requests with the signed-in user's bearer token, uploads with progress,
// server-sent events read through fetch (EventSource cannot send an Authorization header), and
// authenticated downloads. Shapes mirror the API's OpenAPI schema (/docs).

export interface User { id: string; email: string | null }
export interface Session {
  id: string; title: string; language: string | null; status: string; source: string;
  template_id: string | null; duration_ms: number; room_name: string;
  created_at: string; updated_at: string; started_at: string | null; ended_at: string | null;
  matches?: SearchMatch[]; // in a search's answer: the session's best-matching lines
}
export interface SearchMatch { segment_id: string; start_ms: number; speaker: string | null; text: string }
export interface Speaker { label: string; display_name: string | null }
export type RedactionKind = "email" | "phone" | "card" | "account";
export interface RedactionPolicy { enabled: boolean; kinds: RedactionKind[]; terms: string[] }
export interface SessionDetail extends Session {
  invite_code: string; speakers: Speaker[]; segment_count: number; improving: boolean; redaction: RedactionPolicy;
  classification?: Classification | null;
  /** The people who joined the meeting through its invite read it (GET /api/v1/shared/{id}) while this is on. */
  share_with_participants: boolean; participants: Participant[];
}
export interface Participant { identity: string; display_name: string; joined_at: string; removed: boolean }
/** A session as the people it is shared with read it. */
export interface SharedSession {
  id: string; title: string; status: string; language: string | null; started_at: string | null; ended_at: string | null;
  duration_ms: number; speakers: Speaker[]; segment_count: number; improving: boolean;
  summary: { markdown: string; html: string; created_at: string | null } | null;
}
export interface Classification { label: string; confidence: number; template_id: string | null }
export interface SessionPage { items: Session[]; total: number; limit: number; offset: number }
export interface Segment {
  segment_id: string; version: number; speaker: string | null; speaker_name: string | null;
  start_ms: number; end_ms: number; text: string; language: string | null;
}
export interface Transcript { session_id: string; version: number; speakers: Speaker[]; segments: Segment[] }
export interface Recording { id: string; track: string; offset_ms: number; duration_ms: number; content_type: string; bytes: number }
export interface Section { title: string; instruction: string; format: "paragraph" | "bullets" | "table" }
export interface Template {
  id: string; name: string; description: string | null; category: string; language: string;
  sections: Section[]; template_content: string | null; is_system: boolean;
}
export interface Summary {
  id: string | null; version: number | null; template_id: string | null; model: string;
  content: Record<string, unknown>; markdown: string; html: string; created_at: string | null;
}
export interface Job { id: string; session_id: string | null; status: string; stage: string | null; progress: number; error: string | null }
export interface Accepted { job_id: string; session_id: string }
export interface Device {
  id: string; name: string; online: boolean; revoked: boolean;
  current_session_id: string | null; last_seen_at: string | null; created_at: string;
}
export interface DeviceCreated extends Device { token: string }
export interface ConnectionDetails {
  serverUrl: string; roomName: string; participantName: string; participantToken: string; sessionId: string;
}
/** A transcript segment an answer or a brief rests on; ``[ref]`` in the text points at it. */
export interface Citation {
  ref: number; session_id: string; session_title: string; segment_id: string;
  start_ms: number; end_ms: number; speaker: string | null; text: string;
}
export interface AskAnswer { answer: string; citations: Citation[]; model: string | null; note?: string | null }
export interface BriefItem { text: string; refs: number[] }
export interface Brief {
  session_id: string; since_ms: number; discussed: BriefItem[]; decisions: BriefItem[]; open_questions: BriefItem[];
  citations: Citation[]; model: string | null; transcript_version: string; cached: boolean; note?: string | null;
}
export type Recovery = "email" | "admin" | "supabase";
export interface WebConfig {
  version: string;
  auth: {
    provider: "local" | "supabase"; supabase_url: string | null; supabase_anon_key: string | null;
    /** How a forgotten password is reset: an e-mailed link, the administrator, or Supabase's recovery e-mail. */
    recovery: Recovery;
  };
  device_bridge_url?: string | null; // where room microphones connect; null: this host
}

/** Codes for failures whose answer names none (a proxy's page, a stream's error event, no answer
 * at all), as the API itself gives them (shared/errors.py). */
const CODE_BY_STATUS: Record<number, string> = { 0: "network", 429: "rate_limited", 500: "internal_error", 503: "service_unavailable" };

/** A failed request: the HTTP status (0: no answer), the API's English sentence as the message,
 * and its stable code and params, which errors.ts says in the UI's language. */
export class ApiError extends Error {
  public code: string | null;
  constructor(
    public status: number,
    message: string,
    code?: string | null,
    public params: Record<string, unknown> = {},
  ) {
    super(message);
    this.code = code ?? CODE_BY_STATUS[status] ?? null;
  }
}

/** The ApiError of a failed answer's body (the API's {detail, code, params}, or anything else). */
function apiError(status: number, statusText: string, body: unknown): ApiError {
  const shaped = (body ?? {}) as { code?: unknown; params?: unknown };
  let code = typeof shaped.code === "string" ? shaped.code : null;
  if (!code && body === null && status >= 500) code = status === 503 || status === 504 ? "service_unavailable" : "internal_error";
  const params = shaped.params && typeof shaped.params === "object" ? (shaped.params as Record<string, unknown>) : {};
  return new ApiError(status, detail(body, `${status} ${statusText}`), code, params);
}

/** fetch, with "the server could not be reached" as an ApiError of status 0 (an abort stays one). */
async function request(path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(path, init);
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiError(0, "network error");
  }
}

let token: string | null = null;
let onUnauthorized: () => void = () => {};

export function setToken(value: string | null): void {
  token = value;
}

/** Called when the API refuses the token (expired or revoked): the app signs out. */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

function authHeaders(): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

function detail(body: unknown, fallback: string): string {
  const value = (body as { detail?: unknown } | null)?.detail;
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    return value.map((e: { loc?: unknown[]; msg?: string }) => `${(e.loc ?? []).slice(1).join(".")}: ${e.msg}`).join("; ");
  }
  return fallback;
}

async function failure(response: Response): Promise<ApiError> {
  if (response.status === 401 && token) onUnauthorized();
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    /* not JSON */
  }
  return apiError(response.status, response.statusText, body);
}

export async function api<T>(path: string, options: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  const init: RequestInit = { method: options.method ?? "GET", headers: authHeaders(), signal: options.signal };
  if (options.body !== undefined) {
    init.body = JSON.stringify(options.body);
    init.headers = { ...authHeaders(), "Content-Type": "application/json" };
  }
  const response = await request(path, init);
  if (!response.ok) throw await failure(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** Multipart upload through XMLHttpRequest, the one browser API that reports upload progress. */
export function uploadWithProgress<T>(path: string, form: FormData, onProgress: (fraction: number) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON */
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve(body as T);
      } else {
        if (xhr.status === 401 && token) onUnauthorized();
        reject(apiError(xhr.status, xhr.statusText, body));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, "network error"));
    xhr.send(form);
  });
}

export interface ServerEvent { event: string; data: string; id: string | null }

/** Server-sent events read through fetch, so the request carries the bearer token (and may be a
 * POST with a JSON body, which EventSource cannot send). */
export async function* serverEvents(path: string, signal: AbortSignal, body?: unknown): AsyncGenerator<ServerEvent> {
  const headers: Record<string, string> = { ...authHeaders(), Accept: "text/event-stream" };
  const init: RequestInit = { headers, signal };
  if (body !== undefined) {
    init.method = "POST";
    init.body = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  }
  const response = await request(path, init);
  if (!response.ok || !response.body) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n/g, "\n");
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const message: ServerEvent = { event: "message", data: "", id: null };
      const data: string[] = [];
      for (const line of block.split("\n")) {
        const colon = line.indexOf(":");
        if (colon === 0) continue; // a comment (keep-alive)
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") message.event = text;
        else if (field === "data") data.push(text);
        else if (field === "id") message.id = text;
      }
      if (data.length) yield { ...message, data: data.join("\n") };
    }
  }
}

/** Fetches a protected file as a Blob (for downloads and the audio player). */
export async function fetchBlob(path: string): Promise<{ blob: Blob; filename: string | null }> {
  const response = await request(path, { headers: authHeaders() });
  if (!response.ok) throw await failure(response);
  const disposition = response.headers.get("Content-Disposition") ?? "";
  const utf8 = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  const plain = /filename="([^"]+)"/i.exec(disposition);
  const filename = utf8 ? decodeURIComponent(utf8[1]) : plain ? plain[1] : null;
  return { blob: await response.blob(), filename };
}

export async function download(path: string, fallbackName: string): Promise<void> {
  const { blob, filename } = await fetchBlob(path);
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename ?? fallbackName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// What a person reads when something fails: the API's error code (shared/errors.py) said in the
// UI's language with what to do next (i18n.ts, err_<code>); the server's own sentence for a code
// this build does not know; a sentence about the connection when the server cannot be reached.

import { ApiError } from "./api";
import { lang, t, tKnown } from "./i18n";

function duration(seconds: number): string {
  if (seconds < 120) return t("errSeconds", { n: Math.max(1, Math.ceil(seconds)) });
  if (seconds < 7200) return t("errMinutes", { n: Math.ceil(seconds / 60) });
  return t("errHours", { n: Math.round((seconds / 3600) * 10) / 10 });
}

/** The sentence for an error code and its params in the UI's language, or null when there is none. */
export function sentence(code: string, params: Record<string, unknown>): string | null {
  const vars: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(params)) {
    if (typeof value === "string" || typeof value === "number") vars[name] = value;
  }
  if (Array.isArray(params.fields) && params.fields.length) vars.fields = params.fields.join(", ");
  if (typeof params.quota === "string") vars.what = tKnown(`quota_${params.quota}`) ?? params.quota;
  if (typeof params.limit_s === "number") vars.limit = duration(params.limit_s);
  const main = tKnown(`err_${code}`, vars);
  if (!main || code === "quota_exceeded") return main; // a quota says when it starts again
  const space = lang() === "zh" ? "" : " ";
  const retry = params.retry_after;
  if (typeof retry === "number" && (code === "rate_limited" || code === "service_unavailable")) {
    return main + space + t("errRetryAfter", { time: duration(retry) });
  }
  if (code === "service_unavailable" || code === "internal_error") return main + space + t("errRetryLater");
  return main;
}

/** What to show for a failure of any kind. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    // A refused input's own sentence names what is wrong with it: in English it is shown as it is.
    if (error.code === "invalid_request" && lang() === "en" && error.message) return error.message;
    return (error.code && sentence(error.code, error.params)) || error.message;
  }
  // livekit-client's failure to reach the meeting's server (its class is not imported here: the
  // meeting page and its SDK load only when a meeting opens).
  if (error instanceof Error && error.name === "ConnectionError") return t("err_meeting_connection");
  return error instanceof Error ? error.message : String(error);
}

/** Why the browser did not open the microphone, as a phrase for micUnavailable (getUserMedia's
 * DOMException names), else the error's own words. */
export function microphoneProblem(error: unknown): string {
  const name = error instanceof Error ? error.name : "";
  if (name === "NotAllowedError" || name === "SecurityError") return t("errMicDenied");
  if (name === "NotFoundError" || name === "OverconstrainedError") return t("errMicMissing");
  if (name === "NotReadableError") return t("errMicBusy");
  return describeError(error);
}

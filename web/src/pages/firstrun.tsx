// What an empty sessions page offers a new user: start a meeting, upload a recording, or try the
// sample recording that ships with the app (web/public/samples/, its licence beside it), uploaded
// through the same batch endpoint as any file.

import { useState } from "preact/hooks";
import { uploadWithProgress, type Accepted } from "../api";
import { t } from "../i18n";
import { Link, navigate } from "../router";
import { ErrorText } from "../ui";

const SAMPLE = "/samples/phone-call.ogg";

async function uploadSample(): Promise<Accepted> {
  const response = await fetch(SAMPLE);
  if (!response.ok) throw new Error(`${SAMPLE}: ${response.status} ${response.statusText}`);
  const form = new FormData();
  form.append("audio_file", new File([await response.blob()], "phone-call.ogg", { type: "audio/ogg" }));
  form.append("title", t("sampleTitle"));
  form.append("language", "en");
  return uploadWithProgress<Accepted>("/api/v1/transcriptions/batch", form, () => {});
}

export function FirstRun() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const trySample = async () => {
    setBusy(true);
    setError(null);
    try {
      const accepted = await uploadSample();
      navigate(`/sessions/${accepted.session_id}`); // the session page follows it to the transcript
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <section class="first-run-section" aria-labelledby="first-run-lead">
      <p id="first-run-lead">{t("firstRunLead")}</p>
      <ul class="first-run">
        <li class="card">
          <Link href="/meeting" class="button">
            {t("firstRunMeeting")}
          </Link>
          <p class="muted">{t("firstRunMeetingHint")}</p>
        </li>
        <li class="card">
          <Link href="/upload" class="button secondary">
            {t("firstRunUpload")}
          </Link>
          <p class="muted">{t("firstRunUploadHint")}</p>
        </li>
        <li class="card">
          <button type="button" class="secondary" disabled={busy} onClick={trySample}>
            {t("firstRunSample")}
          </button>
          <p class="muted">{t("firstRunSampleHint")}</p>
          {busy && <p role="status">{t("sampleStarting")}</p>}
        </li>
      </ul>
      <ErrorText error={error} />
    </section>
  );
}

// The owner's sharing setting on a session's page: whether the people who joined the meeting
// through its invite may read its transcript and summary afterwards (off until turned on), and
// who they are. Saved as soon as it is changed; turning it off ends their access at once.

import { useEffect, useState } from "preact/hooks";
import { api, type SessionDetail } from "../api";
import { formatDate, t } from "../i18n";
import { ErrorText } from "../ui";

export function SharingPanel(props: { session: SessionDetail; onChanged: () => void }) {
  const { session } = props;
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<unknown>(null);
  // Shown as ticked at once; the stored value wins when the page reloads its data.
  const [on, setOn] = useState(session.share_with_participants);
  useEffect(() => setOn(session.share_with_participants), [session.share_with_participants]);
  const change = async (next: boolean) => {
    setOn(next);
    setBusy(true);
    setSaved(false);
    setError(null);
    try {
      await api(`/api/v1/sessions/${session.id}`, { method: "PATCH", body: { share_with_participants: next } });
      setSaved(true);
      props.onChanged();
    } catch (err) {
      setOn(!next);
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card sharing" aria-labelledby="sharing-heading" data-shared={String(on)}>
      <h2 id="sharing-heading">
        {t("sharingTitle")}: {on ? t("shareStateOn") : t("shareStateOff")}
      </h2>
      <label class="check">
        <input type="checkbox" checked={on} disabled={busy} onChange={(e) => void change(e.currentTarget.checked)} />
        {t("shareWithParticipants")}
      </label>
      <p class="muted small">{t("shareNote")}</p>
      {saved && <p role="status">{t("shareSaved")}</p>}
      <ErrorText error={error} />
      <h3 class="small">{t("shareParticipants")}</h3>
      {session.participants.length === 0 ? (
        <p class="muted small">{t("shareNoParticipants")}</p>
      ) : (
        <ul class="shared-with">
          {session.participants.map((person) => (
            <li key={person.identity} data-identity={person.identity} data-removed={String(person.removed)}>
              <span class="person-name">{person.display_name}</span>{" "}
              <span class="muted small">
                {person.removed ? t("shareRemoved") : formatDate(person.joined_at)}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

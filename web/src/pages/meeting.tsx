// A live meeting: start one (or join through an invite link), publish the microphone into the
// LiveKit room, hear the others, and read live captions with speaker names as the agent
// publishes them (partials provisional, replaced by finals). Everyone in the meeting can be caught
// up on what was said and ask about it while it goes on.

import {
  ConnectionState,
  DisconnectReason,
  Room,
  RoomEvent,
  Track,
  type Participant,
  type RemoteTrack,
  type TextStreamReader,
} from "livekit-client";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, type ConnectionDetails, type SessionDetail, type SharedSession } from "../api";
import { applyCaption, captionFrom, TRANSCRIPTION_TOPIC, type Caption } from "../captions";
import { microphoneProblem } from "../errors";
import { clock, t } from "../i18n";
import { Link } from "../router";
import { CopyButton, ErrorText, LanguageSelect, TemplateSelect, useLoad, useTemplates } from "../ui";
import { AskPanel, CatchUpPanel } from "./assistant";

interface Invite { sessionId: string; code: string | null }

/** Why this person is no longer in the meeting. */
type Gone = "left" | "removed" | "ended" | "stale-link";

export function MeetingPage({ join }: { join?: Invite }) {
  const [details, setDetails] = useState<ConnectionDetails | null>(null);
  const [title, setTitle] = useState("");
  const [gone, setGone] = useState<Gone | null>(null);

  if (gone) {
    const owner = !join?.code;
    const sessionId = details?.sessionId ?? join?.sessionId;
    return (
      <main id="main" class="narrow meeting-over" tabIndex={-1} data-reason={gone}>
        <h1>{title || t("meetingTitle")}</h1>
        <p role="status">{t(GONE_TEXT[gone])}</p>
        {owner && sessionId ? (
          <>
            {gone !== "left" && gone !== "stale-link" && <p>{t("meetingOverNext")}</p>}
            <Link href={`/sessions/${sessionId}`} class="button">
              {t("openTranscript")}
            </Link>
          </>
        ) : (
          <GuestNext sessionId={sessionId} gone={gone} />
        )}
      </main>
    );
  }
  if (details) {
    return <LiveRoom details={details} title={title} owner={!join?.code} onGone={setGone} />;
  }
  return (
    <MeetingForm
      join={join}
      onJoined={(value, chosenTitle) => {
        setTitle(chosenTitle);
        setDetails(value);
      }}
      onGone={setGone}
    />
  );
}

/** Where a guest goes next: the transcript, when the organiser shares it with the people who took
 * part (the API decides, and tells no one else it exists), else back to their own sessions. */
function GuestNext({ sessionId, gone }: { sessionId?: string; gone: Gone }) {
  const shared = useLoad(
    () => (sessionId ? api<SharedSession>(`/api/v1/shared/${sessionId}`).then(() => true, () => false) : Promise.resolve(false)),
    [sessionId],
  );
  if (shared.data === null) return null; // still asking: nothing appears and then goes
  return (
    <>
      {shared.data ? <p>{t("sharedOffered")}</p> : gone !== "left" && gone !== "stale-link" && <p>{t("meetingOverNext")}</p>}
      <div class="row wrap">
        {shared.data && (
          <Link href={`/shared/${sessionId}`} class="button">
            {t("readTranscript")}
          </Link>
        )}
        <Link href="/" class="button secondary">
          {t("backToSessions")}
        </Link>
      </div>
    </>
  );
}

const GONE_TEXT = {
  left: "meetingEnded",
  removed: "meetingRemoved",
  ended: "meetingEndedByOwner",
  "stale-link": "inviteLinkStale",
} as const;

function MeetingForm(props: { join?: Invite; onJoined: (details: ConnectionDetails, title: string) => void; onGone: (why: Gone) => void }) {
  const { join, onJoined } = props;
  const templates = useTemplates();
  const [title, setTitle] = useState("");
  const [name, setName] = useState("");
  const [language, setLanguage] = useState("");
  const [templateId, setTemplateId] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = join
        ? { session_id: join.sessionId, invite_code: join.code ?? undefined, participant_name: name || undefined }
        : {
            title: title || undefined,
            language: language || undefined,
            template_id: templateId || undefined,
            participant_name: name || undefined,
          };
      const details = await api<ConnectionDetails>("/api/v1/livekit/connection-details", { method: "POST", body });
      onJoined(details, title);
    } catch (err) {
      // Through an invite: a meeting that has ended (409), or a link whose code was replaced (404).
      if (join?.code && err instanceof ApiError && (err.status === 409 || err.status === 404)) {
        props.onGone(err.status === 409 ? "ended" : "stale-link");
        return;
      }
      setError(err);
      setBusy(false);
    }
  };

  return (
    <main id="main" class="narrow" tabIndex={-1}>
      <h1>{join ? t("joinMeetingTitle") : t("startMeetingTitle")}</h1>
      <form class="card stack" onSubmit={submit}>
        {!join && (
          <>
            <label for="meeting-title">{t("title")}</label>
            <input id="meeting-title" value={title} maxLength={200} onInput={(e) => setTitle(e.currentTarget.value)} />
            <label for="meeting-language">{t("spokenLanguage")}</label>
            <LanguageSelect id="meeting-language" value={language} onChange={setLanguage} />
            <label for="meeting-template">{t("template")}</label>
            <TemplateSelect id="meeting-template" value={templateId} onChange={setTemplateId} templates={templates} />
          </>
        )}
        <label for="meeting-name">{t("yourName")}</label>
        <input id="meeting-name" value={name} maxLength={100} autoComplete="name" onInput={(e) => setName(e.currentTarget.value)} />
        <ErrorText error={error} />
        <button type="submit" disabled={busy}>
          {busy ? t("connecting") : join ? t("joinMeeting") : t("startMeeting")}
        </button>
      </form>
    </main>
  );
}

interface ParticipantView { identity: string; name: string; local: boolean; agent: boolean; speaking: boolean; muted: boolean }

function views(room: Room): ParticipantView[] {
  const everyone: Participant[] = [room.localParticipant, ...room.remoteParticipants.values()];
  return everyone.map((p) => ({
    identity: p.identity,
    name: p.isAgent ? t("transcriberName") : p.name || p.identity,
    local: p === room.localParticipant,
    agent: p.isAgent,
    speaking: p.isSpeaking,
    muted: !p.isMicrophoneEnabled,
  }));
}

/** An API timestamp (UTC, with or without its zone) in ms since the epoch. */
function parseInstant(iso: string): number {
  return Date.parse(iso.endsWith("Z") || /[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`);
}

/** A stable colour per speaker, so captions are easy to follow. */
function hue(identity: string): number {
  let h = 0;
  for (const ch of identity) h = (h * 31 + ch.charCodeAt(0)) % 360;
  return h;
}

function LiveRoom(props: { details: ConnectionDetails; title: string; owner: boolean; onGone: (why: Gone) => void }) {
  const { details } = props;
  const roomRef = useRef<Room | null>(null);
  const [state, setState] = useState<ConnectionState>(ConnectionState.Connecting);
  const [people, setPeople] = useState<ParticipantView[]>([]);
  const [captions, setCaptions] = useState<Caption[]>([]);
  const [announcement, setAnnouncement] = useState("");
  const [micOn, setMicOn] = useState(false);
  const [micError, setMicError] = useState("");
  const [audioBlocked, setAudioBlocked] = useState(false);
  const [delayed, setDelayed] = useState(false);
  const [invite, setInvite] = useState("");
  const [title, setTitle] = useState(props.title);
  const [joinedMs, setJoinedMs] = useState<number | null>(null); // when this person joined, on the session clock
  const [error, setError] = useState<unknown>(null);
  const audioRef = useRef<HTMLDivElement>(null);
  const listRef = useRef<HTMLOListElement>(null);
  const stick = useRef(true);

  useEffect(() => {
    const room = new Room({ adaptiveStream: true, dynacast: true });
    roomRef.current = room;
    const refresh = () => {
      setPeople(views(room));
      setDelayed([...room.remoteParticipants.values()].some((p) => p.isAgent && p.attributes["intrascribe.captions_delayed"] === "true"));
      setMicOn(room.localParticipant.isMicrophoneEnabled);
    };
    room.registerTextStreamHandler(TRANSCRIPTION_TOPIC, async (reader: TextStreamReader, from: { identity: string }) => {
      const text = await reader.readAll();
      const speaker = room.getParticipantByIdentity(from.identity);
      const caption = captionFrom(text, reader.info.attributes ?? {}, from.identity, speaker?.name ?? "");
      setCaptions((list) => applyCaption(list, caption));
      if (caption.final && caption.text) setAnnouncement(`${caption.speakerName}: ${caption.text}`);
    });
    room
      .on(RoomEvent.ConnectionStateChanged, (next: ConnectionState) => setState(next))
      .on(RoomEvent.TrackSubscribed, (track: RemoteTrack) => {
        if (track.kind === Track.Kind.Audio) audioRef.current?.append(track.attach());
      })
      .on(RoomEvent.TrackUnsubscribed, (track: RemoteTrack) => track.detach().forEach((element) => element.remove()))
      .on(RoomEvent.AudioPlaybackStatusChanged, () => setAudioBlocked(!room.canPlaybackAudio))
      .on(RoomEvent.Disconnected, (reason?: DisconnectReason) => {
        setState(ConnectionState.Disconnected);
        // Removed by the owner, or the room closed (the meeting was ended): say so, not "disconnected".
        if (reason === DisconnectReason.PARTICIPANT_REMOVED) props.onGone("removed");
        else if (reason === DisconnectReason.ROOM_DELETED) props.onGone("ended");
      });
    for (const event of [
      RoomEvent.ParticipantConnected,
      RoomEvent.ParticipantDisconnected,
      RoomEvent.ActiveSpeakersChanged,
      RoomEvent.TrackMuted,
      RoomEvent.TrackUnmuted,
      RoomEvent.TrackPublished,
      RoomEvent.TrackUnpublished,
      RoomEvent.LocalTrackPublished,
      RoomEvent.LocalTrackUnpublished,
      RoomEvent.ParticipantAttributesChanged,
      RoomEvent.ParticipantNameChanged,
    ]) {
      room.on(event, refresh);
    }

    (async () => {
      await room.connect(details.serverUrl, details.participantToken);
      const connectedAt = Date.now();
      refresh();
      setAudioBlocked(!room.canPlaybackAudio);
      try {
        await room.localParticipant.setMicrophoneEnabled(true);
      } catch (err) {
        setMicError(microphoneProblem(err));
      }
      refresh();
      if (props.owner) {
        const session = await api<SessionDetail>(`/api/v1/sessions/${details.sessionId}`);
        setInvite(`${location.origin}/join/${session.id}?code=${encodeURIComponent(session.invite_code)}`);
        setTitle(session.title);
        if (session.started_at) setJoinedMs(Math.max(0, connectedAt - parseInstant(session.started_at)));
      }
    })().catch(setError);

    return () => {
      void room.disconnect();
      roomRef.current = null;
    };
  }, [details]);

  // Keep the newest caption in view unless the reader scrolled up.
  useLayoutEffect(() => {
    const list = listRef.current;
    if (list && stick.current) list.scrollTop = list.scrollHeight;
  }, [captions]);

  const toggleMic = async () => {
    const room = roomRef.current;
    if (!room) return;
    try {
      await room.localParticipant.setMicrophoneEnabled(!room.localParticipant.isMicrophoneEnabled);
      setMicError("");
    } catch (err) {
      setMicError(microphoneProblem(err));
    }
    setMicOn(room.localParticipant.isMicrophoneEnabled);
  };
  const leave = async () => {
    await roomRef.current?.disconnect();
    props.onGone("left");
  };
  // The owner's controls: take someone out of the meeting; replace the invite link.
  const [notice, setNotice] = useState("");
  const remove = async (person: ParticipantView) => {
    if (!window.confirm(t("removeConfirm", { name: person.name }))) return;
    setError(null);
    try {
      await api(`/api/v1/sessions/${details.sessionId}/participants/${encodeURIComponent(person.identity)}`, { method: "DELETE" });
      setNotice(t("removedNotice", { name: person.name }));
    } catch (err) {
      setError(err);
    }
  };
  const newInvite = async () => {
    if (!window.confirm(t("newInviteConfirm"))) return;
    setError(null);
    try {
      const made = await api<{ invite_code: string }>(`/api/v1/sessions/${details.sessionId}/invite-code`, { method: "POST" });
      setInvite(`${location.origin}/join/${details.sessionId}?code=${encodeURIComponent(made.invite_code)}`);
      setNotice(t("newInviteNotice"));
    } catch (err) {
      setError(err);
    }
  };
  // The owner closes the room for everyone; the transcript keeps what was said up to then.
  const endForEveryone = async () => {
    if (!window.confirm(t("endConfirm"))) return;
    try {
      await api(`/api/v1/sessions/${details.sessionId}/end`, { method: "POST" });
    } catch (err) {
      setError(err);
      return;
    }
    await leave();
  };

  const stateLabel = {
    [ConnectionState.Connecting]: t("connecting"),
    [ConnectionState.Connected]: t("connected"),
    [ConnectionState.Reconnecting]: t("reconnecting"),
    [ConnectionState.SignalReconnecting]: t("reconnecting"),
    [ConnectionState.Disconnected]: t("disconnected"),
  }[state];

  return (
    <main id="main" class="meeting" tabIndex={-1}>
      <div class="page-head">
        <h1>{title || t("meetingTitle")}</h1>
        <p class={`badge conn-${state}`} role="status" data-state={state}>
          {stateLabel}
        </p>
      </div>
      <div class="toolbar">
        <button type="button" class={micOn ? "secondary" : "warn"} aria-pressed={!micOn} onClick={toggleMic}>
          {micOn ? t("mute") : t("unmute")}
        </button>
        {audioBlocked && (
          <button type="button" class="secondary" onClick={() => roomRef.current?.startAudio()}>
            {t("enableAudio")}
          </button>
        )}
        <button type="button" class="danger" onClick={leave}>
          {t("leave")}
        </button>
        {props.owner && (
          <button type="button" class="danger" onClick={endForEveryone}>
            {t("endForEveryone")}
          </button>
        )}
      </div>
      <ErrorText error={error} />
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      {micError && (
        <p class="error" role="alert">
          {t("micUnavailable", { message: micError })}
        </p>
      )}
      {delayed && (
        <p class="notice" role="status">
          {t("captionsDelayed")}
        </p>
      )}
      <div class="meeting-grid">
        <section class="captions-panel" aria-labelledby="captions-heading">
          <h2 id="captions-heading">{t("captions")}</h2>
          <ol
            class="captions"
            ref={listRef}
            tabIndex={0}
            aria-labelledby="captions-heading"
            onScroll={(e) => {
              const el = e.currentTarget;
              stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
            }}
          >
            {captions.length === 0 && <li class="muted empty">{t("captionsEmpty")}</li>}
            {captions.map((caption) => (
              <li
                key={caption.id}
                class={`caption ${caption.final ? "final" : "partial"}`}
                data-segment-id={caption.id}
                data-final={String(caption.final)}
                data-speaker={caption.speaker}
                style={{ "--speaker-hue": String(hue(caption.speaker)) }}
              >
                <span class="caption-speaker">{caption.speakerName}</span>
                <span class="caption-time">{clock(caption.startMs)}</span>
                <span class="caption-text">{caption.text}</span>
                {!caption.final && <span class="visually-hidden"> ({t("provisional")})</span>}
              </li>
            ))}
          </ol>
          <p class="visually-hidden" aria-live="polite">
            {announcement}
          </p>
        </section>
        <aside class="side">
          <section aria-labelledby="people-heading">
            <h2 id="people-heading">
              {t("participants")} ({people.length})
            </h2>
            <ul class="people">
              {people.map((p) => (
                <li key={p.identity} data-identity={p.identity} data-agent={String(p.agent)} class={p.speaking ? "speaking" : ""}>
                  <span class="dot" style={{ "--speaker-hue": String(hue(p.identity)) }} aria-hidden="true" />
                  <span class="person-name">{p.name}</span>
                  <span class="muted small">
                    {[p.local && t("you"), p.speaking && t("speaking"), !p.agent && p.muted && t("muted")]
                      .filter(Boolean)
                      .join(" · ")}
                  </span>
                  {props.owner && !p.local && !p.agent && (
                    <button type="button" class="danger small-button" aria-label={t("removePerson", { name: p.name })} onClick={() => remove(p)}>
                      {t("remove")}
                    </button>
                  )}
                </li>
              ))}
            </ul>
          </section>
          {invite && (
            <section aria-labelledby="invite-heading">
              <h2 id="invite-heading">{t("inviteLink")}</h2>
              <label for="invite-link" class="muted small">
                {t("inviteHelp")}
              </label>
              <div class="row">
                <input id="invite-link" readOnly value={invite} onFocus={(e) => e.currentTarget.select()} />
                <CopyButton text={invite} />
              </div>
              <button type="button" class="secondary new-invite" onClick={newInvite}>
                {t("newInvite")}
              </button>
            </section>
          )}
          {/* Everyone in the meeting may catch up and ask (the API checks they are in the room). */}
          <CatchUpPanel sessionId={details.sessionId} joinedMs={joinedMs} />
          <AskPanel sessionId={details.sessionId} live />
        </aside>
      </div>
      <div ref={audioRef} hidden />
    </main>
  );
}

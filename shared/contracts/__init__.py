"""The messages between Intrascribe's services, defined once.

- ``transcript``: words and segments as the STT service produces them;
- ``stt``: the STT service's ``/transcribe`` response and its streaming protocol (``/v1/stream``);
- ``diarization``: ``/diarize`` and ``/embed``, and the speaker ``Turn``;
- ``internal``: what the agent sends the API's ``/internal/v1`` routes, and the session status
  they change;
- ``rooms``: how people, devices and the agent join a session's LiveKit room;
- ``jobs``: the parameters a batch job is queued with;
- ``webhooks``: the events delivered to users' webhooks;
- ``vocabulary``: the custom vocabulary (names, jargon) sessions bias speech-to-text toward;
- ``redaction``: what a user or session hides from its transcript (``shared.redaction`` applies it).

Servers declare these as their request and response models; the typed clients in
``shared.clients`` parse them. Nothing here imports the rest of the project (pydantic only), so
the contracts can be read — and installed — on their own."""

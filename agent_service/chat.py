"""Questions typed in the meeting's chat (LiveKit's ``lk.chat`` text streams, the topic LiveKit's
own agents and front ends use) and addressed to the agent, e.g. "@notes what did we decide about
the budget?": the API answers from the transcript so far and the agent posts the reply on
``lk.chat`` as itself, in reply to the question. Anything else in the chat is left alone."""

from __future__ import annotations

import asyncio
import logging
import re

from livekit import rtc

from shared.clients import InternalApiClient, ServiceRefused, ServiceUnavailable

log = logging.getLogger(__name__)

CHAT_TOPIC = "lk.chat"
UNREACHABLE = "I can't reach the meeting notes right now; ask me again in a minute."


def addressed(text: str, handle: str) -> str | None:
    """The question in ``text`` when it starts with ``@handle`` (any case), else None."""
    match = re.match(rf"\s*@{re.escape(handle)}\b[\s,:]*(.*)", text, re.IGNORECASE | re.DOTALL)
    return match.group(1).strip() if match else None


class MeetingChat:
    def __init__(self, room: rtc.Room, api: InternalApiClient, session_id: str, handle: str) -> None:
        self.room = room
        self.api = api
        self.session_id = session_id
        self.handle = handle
        self._tasks: set[asyncio.Task[None]] = set()

    def listen(self) -> None:
        self.room.register_text_stream_handler(CHAT_TOPIC, self._on_message)

    def _on_message(self, reader: rtc.TextStreamReader, sender: str) -> None:
        task = asyncio.create_task(self._answer(reader, sender))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, reader: rtc.TextStreamReader, sender: str) -> None:
        question = addressed(await reader.read_all(), self.handle)
        if question is None:
            return
        log.info("question from %s in the chat of %s", sender, self.session_id)
        if not question:
            text = f"Ask me about this meeting, e.g. “@{self.handle} what did we decide?”"
        else:
            try:
                text = (await self.api.ask(self.session_id, question)).text
            except (ServiceUnavailable, ServiceRefused) as exc:
                log.warning("chat question from %s in %s not answered: %s", sender, self.session_id, exc)
                text = UNREACHABLE
        await self.room.local_participant.send_text(text, topic=CHAT_TOPIC, reply_to_id=reader.info.stream_id)

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

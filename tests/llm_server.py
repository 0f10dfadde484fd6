"""A local OpenAI-compatible chat server that behaves like a provider, for the summary tests
(the one boundary we cannot reach here). The model name picks the behaviour:

- ``good``: answers summary JSON built from the transcript it was sent (malformed JSON once when
  the transcript contains MALFORMED-ONCE, always when it contains MALFORMED-ALWAYS);
- ``rate-limited``: 429 with Retry-After; ``slow``: answers after 5 s (past any test timeout);
- ``down``: 503.
Questions (a system prompt that starts "You answer questions about") are answered in plain text
from the numbered line that shares the most words with the question, citing it and an invented
line [999]; "the transcript does not say" when the question contains NOT-IN-TRANSCRIPT, an empty
answer for EMPTY-ANSWER, and a stream that breaks off after a few words for STREAM-BREAK. A
catch-up brief ("You write a catch-up") is JSON citing real lines and an invented one. With
``stream: true`` the answer comes as OpenAI's server-sent chunks of three characters.
Every request is recorded, and the Authorization header it came with."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from devstack.procs import free_port


class FakeLLM:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []
        self.app = FastAPI()
        self.app.post("/v1/chat/completions")(self.chat)
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_config=None))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> FakeLLM:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(5)

    async def chat(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        self.authorizations.append(request.headers.get("authorization"))
        model = body["model"]
        if model == "rate-limited":
            return JSONResponse(
                {"error": {"message": "Rate limit reached", "type": "rate_limit_error"}},
                status_code=429,
                headers={"Retry-After": "0"},
            )
        if model == "down":
            return JSONResponse({"error": {"message": "overloaded", "type": "server_error"}}, status_code=503)
        if model == "slow":
            await asyncio.sleep(5)
        messages = body["messages"]
        text = "\n".join(m["content"] for m in messages)
        retry = any("was not valid JSON" in m["content"] for m in messages if m["role"] == "user")
        if messages[0]["content"].startswith("You answer questions about"):
            content = self.answer(messages[-1]["content"])
            if body.get("stream"):
                return self.streamed(model, content, broken="STREAM-BREAK" in messages[-1]["content"])
        elif "MALFORMED-ALWAYS" in text or ("MALFORMED-ONCE" in text and not retry):
            content = '{"summary": "unfinished'
        elif "Give a short, specific meeting title" in text:
            content = "Quarterly budget review"
        elif messages[0]["content"].startswith("You write a catch-up"):
            content = json.dumps(self.brief(messages[-1]["content"]))
        else:
            content = json.dumps(self.minutes(text))
        return JSONResponse(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                "usage": {
                    "prompt_tokens": len(text) // 4,
                    "completion_tokens": len(content) // 4,
                    "total_tokens": (len(text) + len(content)) // 4,
                },
            }
        )

    @staticmethod
    def minutes(prompt: str) -> dict[str, Any]:
        ids = re.findall(r"\((seg-[\w-]+|trk-[\w-]+|l\d+)\)", prompt)
        owner = re.search(r"\] \([^)]*\) ([^:]+):", prompt)
        sections = re.findall(r'- "([^"]+)":', prompt)
        return {
            "title": "Budget review",
            "summary": f"Discussed {len(ids)} points.",
            "key_points": ["Budget"],
            "decisions": ["Approve"],
            "action_items": [
                {"owner": owner.group(1) if owner else None, "due": "Friday", "text": "Send the report", "segment_ids": ids[:1]}
            ],
            "sections": [{"title": s, "content": "…"} for s in sections],
            "language": "en",
        }

    @staticmethod
    def lines(prompt: str) -> list[tuple[int, str, str]]:
        """(number, speaker, text) of each ``[n] [mm:ss] Speaker: text`` line."""
        return [(int(n), speaker, said) for n, speaker, said in re.findall(r"^\[(\d+)\] \[[\d:]+\] ([^:]+): (.*)$", prompt, re.M)]

    def answer(self, prompt: str) -> str:
        question = prompt.rsplit("Question:", 1)[-1]
        if "EMPTY-ANSWER" in question:
            return ""
        if "NOT-IN-TRANSCRIPT" in question:
            return "The transcript does not say."
        wanted = {w for w in re.findall(r"\w+", question.lower()) if len(w) > 3}
        lines = self.lines(prompt)
        if not lines:
            return "The transcript does not say."
        n, speaker, said = max(lines, key=lambda line: len(wanted & set(re.findall(r"\w+", line[2].lower()))))
        return f"{speaker} said: {said} [{n}] [999]"

    def brief(self, prompt: str) -> dict[str, Any]:
        lines = self.lines(prompt)
        return {
            "discussed": [{"text": f"{speaker} spoke about: {said}", "refs": [n, 999]} for n, speaker, said in lines[:2]],
            "decisions": [{"text": said, "refs": [n]} for n, _s, said in lines if "agreed" in said or "decided" in said],
            "open_questions": [{"text": said, "refs": [n]} for n, _s, said in lines if said.endswith("?")],
        }

    @staticmethod
    def streamed(model: str, content: str, broken: bool) -> StreamingResponse:
        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            data = {
                "id": "chatcmpl-test",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return f"data: {json.dumps(data)}\n\n"

        async def events() -> Any:
            yield chunk({"role": "assistant", "content": ""})
            for start in range(0, len(content), 3):
                if broken and start >= 12:
                    raise ConnectionResetError("the provider went away mid-answer")
                yield chunk({"content": content[start : start + 3]})
                await asyncio.sleep(0)
            yield chunk({}, "stop")
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

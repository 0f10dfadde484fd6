"""A local OpenAI-compatible chat server that behaves like a provider, for the summary tests
(the one boundary we cannot reach here). The model name picks the behaviour:

- ``good``: answers summary JSON built from the transcript it was sent (malformed JSON once when
  the transcript contains MALFORMED-ONCE, always when it contains MALFORMED-ALWAYS);
- ``rate-limited``: 429 with Retry-After; ``slow``: answers after 5 s (past any test timeout);
- ``down``: 503.
Every request is recorded."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from devstack.procs import free_port


class FakeLLM:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
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

    async def chat(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append(body)
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
        if "MALFORMED-ALWAYS" in text or ("MALFORMED-ONCE" in text and not retry):
            content = '{"summary": "unfinished'
        elif "Give a short, specific meeting title" in text:
            content = "Quarterly budget review"
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

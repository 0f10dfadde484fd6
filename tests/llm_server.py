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
``stream: true`` the answer comes as OpenAI's server-sent chunks of three characters, and a last
chunk with the usage when ``stream_options.include_usage`` asks for it.
Extraction ("You extract fields") fills the schema in its prompt from the transcript lines that
name a field (its key's words): a string field takes the first such line's text, a list of strings
all of them, anything else null (an enum its first value, an object's list stays empty); with
EXTRACT-MALFORMED-ONCE the first answer is not JSON, with EXTRACT-INVALID-ONCE the first misses a
required field, with EXTRACT-INVALID-ALWAYS every answer does. Classification ("You classify")
answers the listed label whose words the transcript uses most (``CLASSIFY_WORDS``), with
confidence 0.9 (other, 0.3, when none is used); CLASSIFY-OUTSIDE answers a label not in the list.
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

# The words that make the fake classifier choose a label.
CLASSIFY_WORDS = {
    "sales/call": {"price", "pricing", "budget", "licence", "discount", "contract", "seats", "预算", "报价"},
    "healthcare/appointment": {"pain", "doctor", "medication", "ibuprofen", "prescription", "symptoms", "mg", "疼", "药"},
    "engineering/standup": {"yesterday", "blocker", "blocked", "merged", "deploy", "pull", "昨天", "阻碍"},
    "support/call": {"error", "crash", "ticket", "reinstall", "refund", "broken"},
    "hr/interview": {"candidate", "role", "experience", "hire", "salary"},
}


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
                usage = (body.get("stream_options") or {}).get("include_usage")
                return self.streamed(
                    model, content, broken="STREAM-BREAK" in messages[-1]["content"], usage=(len(text) // 4) if usage else None
                )
        elif messages[0]["content"].startswith("You extract fields"):
            content = self.extraction(messages, text)
        elif messages[0]["content"].startswith("You classify"):
            content = self.classification(messages[0]["content"], messages[1]["content"])
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
    def extraction(messages: list[dict[str, Any]], text: str) -> str:
        retry = any("not valid against the schema" in m["content"] for m in messages if m["role"] == "user")
        if "EXTRACT-MALFORMED-ONCE" in text and not retry:
            return '{"customer": "unfinished'
        system = messages[0]["content"]
        schema = json.loads(system[system.index("JSON Schema:\n") + len("JSON Schema:\n") : system.index("\nUse only")])
        said = [line.split(": ", 1)[-1] for line in messages[1]["content"].splitlines()[1:]]
        data: dict[str, Any] = {}
        for key, spec in schema["properties"].items():
            words = [w.rstrip("s") for w in key.split("_") if len(w) > 2]
            lines = [line for line in said if any(w in line.lower() for w in words)]
            kind = spec.get("type")
            if "enum" in spec:
                data[key] = spec["enum"][0]
            elif kind == "array":
                data[key] = lines if spec.get("items", {}).get("type") == "string" else []
            elif kind in ("string", ["string", "null"]):
                data[key] = lines[0] if lines else (None if isinstance(kind, list) else "")
            else:
                data[key] = None
        if "EXTRACT-INVALID-ALWAYS" in text or ("EXTRACT-INVALID-ONCE" in text and not retry):
            data.pop(next(iter(schema.get("required") or schema["properties"])), None)
        return json.dumps(data)

    @staticmethod
    def classification(system: str, transcript: str) -> str:
        labels = re.findall(r"^- ([\w-]+/[\w-]+): ", system, re.M)
        if "CLASSIFY-OUTSIDE" in transcript:
            return json.dumps({"label": "legal/deposition", "confidence": 0.8})
        words = set(re.findall(r"\w+", transcript.lower()))

        def used(word: str) -> bool:  # a Chinese word is found inside the unspaced text
            return word in transcript if re.search(r"[\u4e00-\u9fff]", word) else word in words

        scores = {label: sum(used(w) for w in CLASSIFY_WORDS.get(label, ())) for label in labels}
        best = max(scores, key=lambda label: scores[label], default=None)
        if best is None or scores[best] == 0:
            return json.dumps({"label": "other", "confidence": 0.3})
        return json.dumps({"label": best, "confidence": 0.9})

    @staticmethod
    def streamed(model: str, content: str, broken: bool, usage: int | None = None) -> StreamingResponse:
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
            if usage is not None:  # OpenAI's last chunk with stream_options.include_usage: no choices
                tokens = {"prompt_tokens": usage, "completion_tokens": len(content) // 4}
                data = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
                data |= {"choices": [], "usage": {**tokens, "total_tokens": sum(tokens.values())}}
                yield f"data: {json.dumps(data)}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

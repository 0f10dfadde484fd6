"""The MCP server (Model Context Protocol, streamable HTTP) at ``/mcp``: an assistant such as Claude
Desktop or Cursor searches the user's meetings, reads a transcript or summary, and asks questions
with citations, as that user.

It is one route of the API, behind the same bearer check as every other (``deps.current_user``:
no token, a bad or an expired one answers 401 before any MCP message is read); the signed-in user
rides on the request to the tools, which call the same domain functions as the REST routes, so a
session of another user is "session not found" here as it is a 404 there. The transport is
stateless with JSON responses: each POST carries its own token and is answered alone, so any API
replica can serve any request and nothing is kept between them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import Receive, Scope, Send

from api_service import __version__, assistant, extraction, summaries
from api_service.auth import CurrentUser
from api_service.deps import DbDep, SettingsDep, current_user, owned_session, release
from api_service.domain.sessions import find_sessions, transcript
from api_service.quotas import Quotas
from api_service.schemas.assistant import AskAcrossRequest, AskAnswer, AskRequest
from api_service.schemas.sessions import SpeakerOut
from shared.timecode import short_time

PATH = "/mcp"
INSTRUCTIONS = (
    "Intrascribe holds the user's meeting transcripts and summaries. Find meetings with search_meetings "
    "(by words said in them or in their titles), read one with get_transcript or get_summary (by the session_id "
    "search_meetings gives), and ask questions with ask: across all meetings, or about one meeting when given "
    "its session_id. Answers cite transcript lines as [n], the n-th citation."
)
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)


# What the tools answer ------------------------------------------------------------------------


class Match(BaseModel):
    segment_id: str
    at: str = Field(description="when in the meeting it was said (mm:ss)")
    start_ms: int
    speaker: str | None
    text: str


class Meeting(BaseModel):
    session_id: str
    title: str
    status: str
    language: str | None
    created_at: datetime
    started_at: datetime | None
    duration_ms: int
    matches: list[Match] = Field(description="transcript lines that match the query best")


class MeetingSearch(BaseModel):
    query: str
    total: int = Field(description="how many meetings match (more than are listed when over the limit)")
    meetings: list[Meeting]


class MeetingTranscript(BaseModel):
    session_id: str
    title: str
    status: str
    language: str | None
    version: int
    speakers: list[SpeakerOut]
    lines: list[str] = Field(description="the transcript, a line a segment: [mm:ss] (segment id) Speaker: text")


class MeetingSummary(BaseModel):
    session_id: str
    title: str
    summary_id: str | None = None
    version: int | None = None
    model: str | None = Field(default=None, description="the model that wrote it, or edited-by-user / extractive-fallback")
    created_at: datetime | None = None
    markdown: str | None = Field(default=None, description="the summary as Markdown")
    content: dict[str, Any] | None = Field(default=None, description="the same, structured: key points, decisions, action items")
    extraction: dict[str, Any] | None = Field(
        default=None, description="the fields the template's schema took from the transcript (latest version), when there are any"
    )
    note: str | None = None


# The caller and the domain ------------------------------------------------------------------------


def _caller(ctx: Context) -> tuple[CurrentUser, Any]:
    """The signed-in user (put on the request by the ``/mcp`` route) and the app's state."""
    request = ctx.request_context.request
    user = getattr(getattr(request, "state", None), "user", None)
    if not isinstance(request, Request) or not isinstance(user, CurrentUser):
        raise ToolError("not signed in: call the MCP server with an Authorization: Bearer <token> header")
    return user, request.app.state


@contextlib.contextmanager
def _as_tool_errors() -> Iterator[None]:
    """What a REST route would answer with a status (404 for another user's session, 429 past a
    quota, 422 for a question that is not one) is the tool's error, with the same sentence."""
    try:
        yield
    except HTTPException as exc:
        raise ToolError(str(exc.detail)) from None
    except ValidationError as exc:
        raise ToolError("; ".join(str(error["msg"]) for error in exc.errors())) from None
    except assistant.ModelFailed as exc:
        raise ToolError(str(exc)) from None


async def search_meetings(db: AsyncSession, user: CurrentUser, query: str, limit: int) -> MeetingSearch:
    page = await find_sessions(db, user.id, query, None, limit)
    meetings = [
        Meeting(
            session_id=item.id,
            title=item.title,
            status=item.status,
            language=item.language,
            created_at=item.created_at,
            started_at=item.started_at,
            duration_ms=item.duration_ms,
            matches=[
                Match(segment_id=m.segment_id, at=short_time(m.start_ms), start_ms=m.start_ms, speaker=m.speaker, text=m.text)
                for m in item.matches
            ],
        )
        for item in page.items
    ]
    return MeetingSearch(query=query, total=page.total, meetings=meetings)


async def get_transcript(db: AsyncSession, user: CurrentUser, session_id: str) -> MeetingTranscript:
    row = await owned_session(db, session_id, user.id)
    found = await transcript(db, row)
    return MeetingTranscript(
        session_id=row.id,
        title=row.title,
        status=row.status,
        language=row.language,
        version=found.version,
        speakers=found.speakers,
        lines=summaries.transcript_lines([segment.model_dump() for segment in found.segments]),
    )


async def get_summary(db: AsyncSession, user: CurrentUser, session_id: str) -> MeetingSummary:
    row = await owned_session(db, session_id, user.id)
    latest = await summaries.latest(db, row.id)
    extracted = await extraction.latest(db, row.id)
    fields = extracted.data if extracted else None
    if latest is None:
        note = "No summary has been made for this meeting yet: make one in the Intrascribe app, or ask a question instead."
        return MeetingSummary(session_id=row.id, title=row.title, extraction=fields, note=note)
    return MeetingSummary(
        session_id=row.id,
        title=row.title,
        summary_id=latest.id,
        version=latest.version,
        model=latest.model,
        created_at=latest.created_at,
        markdown=latest.markdown,
        content=latest.content,
        extraction=fields,
    )


async def ask(db: AsyncSession, state: Any, user: CurrentUser, question: str, session_id: str | None) -> AskAnswer:
    llm = state.llm
    if session_id:
        q = await assistant.meeting_question(db, llm, user.id, session_id, AskRequest(question=question).question)
    else:
        q = await assistant.across_meetings(db, llm, user.id, AskAcrossRequest(question=question).question)
    return await assistant.reply(llm, q, Quotas(state.settings, state.redis), user.id, db)


# The MCP server ---------------------------------------------------------------------------------


def build_server() -> MCPServer:
    server: MCPServer = MCPServer("intrascribe", title="Intrascribe meetings", version=__version__, instructions=INSTRUCTIONS)

    @server.tool(name="search_meetings", annotations=READ_ONLY)
    async def search_meetings_tool(
        ctx: Context,
        query: Annotated[str, Field(max_length=200, description="words said in the meeting or in its title")],
        limit: Annotated[int, Field(ge=1, le=50, description="at most this many meetings")] = 10,
    ) -> MeetingSearch:
        """Search your meetings by words said in them or in their titles, the most recent first, each
        with the transcript lines that match best. An empty query lists your most recent meetings."""
        user, state = _caller(ctx)
        with _as_tool_errors():
            async with state.sessionmaker() as db:
                return await search_meetings(db, user, query, limit)

    @server.tool(name="get_transcript", annotations=READ_ONLY)
    async def get_transcript_tool(ctx: Context, session_id: Annotated[str, Field(max_length=64)]) -> MeetingTranscript:
        """The transcript of one of your meetings (the latest version), a line a segment, with speaker names."""
        user, state = _caller(ctx)
        with _as_tool_errors():
            async with state.sessionmaker() as db:
                return await get_transcript(db, user, session_id)

    @server.tool(name="get_summary", annotations=READ_ONLY)
    async def get_summary_tool(ctx: Context, session_id: Annotated[str, Field(max_length=64)]) -> MeetingSummary:
        """The latest summary of one of your meetings (key points, decisions, action items), as Markdown,
        and the fields its template extracted (customer, budget, medications, ...) when there are any."""
        user, state = _caller(ctx)
        with _as_tool_errors():
            async with state.sessionmaker() as db:
                return await get_summary(db, user, session_id)

    @server.tool(name="ask", annotations=READ_ONLY)
    async def ask_tool(
        ctx: Context,
        question: Annotated[str, Field(description="what you want to know")],
        session_id: Annotated[str | None, Field(max_length=64, description="only this meeting; all of them if left out")] = None,
    ) -> AskAnswer:
        """Ask a question about your meetings (all of them, or the one of session_id), answered from the
        transcripts with citations: [n] in the answer is the n-th citation (meeting, time, speaker, words).
        Without a language model configured, the answer is the transcript lines that match best."""
        user, state = _caller(ctx)
        with _as_tool_errors():
            async with state.sessionmaker() as db:
                return await ask(db, state, user, question, session_id)

    return server


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[None]:
    """Run the MCP transport for the app's lifespan (``app.state.mcp``). Its task group lives in
    a task of its own, so it is entered and left in one task whichever task runs the lifespan."""
    server = build_server()
    server.streamable_http_app(
        streamable_http_path=PATH,
        stateless_http=True,
        json_response=True,
        # The SDK's DNS-rebinding check (a Host allow-list) is for servers a browser reaches with
        # ambient credentials; every request here carries its own bearer token, and the API is
        # reached under whatever name it is deployed at.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    manager = server.session_manager
    started, stop = asyncio.Event(), asyncio.Event()

    async def run() -> None:
        async with manager.run():
            started.set()
            await stop.wait()

    task = asyncio.create_task(run(), name="mcp-transport")
    ready = asyncio.create_task(started.wait())
    await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
    ready.cancel()
    if task.done():
        task.result()  # it failed to start: raise why
    app.state.mcp = manager
    try:
        yield
    finally:
        stop.set()
        await task


class _Transport(Response):
    """The response the MCP transport writes itself (JSON, or an error of the protocol's)."""

    def __init__(self, manager: StreamableHTTPSessionManager) -> None:
        super().__init__()
        self.manager = manager

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.manager.handle_request(scope, receive, send)


router = APIRouter()
UNAUTHORIZED = -32001  # the JSON-RPC error code MCP servers commonly answer a refused credential with


@router.api_route(PATH, methods=["GET", "POST", "DELETE"], include_in_schema=False)
async def mcp_endpoint(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False))],
    settings: SettingsDep,
    session: DbDep,
) -> Response:
    """The MCP endpoint (streamable HTTP), for the signed-in user only: the REST API's own check
    (``current_user``), whose 401 also reads as a JSON-RPC error, so an MCP client shows the
    reason ("missing bearer token", "token expired") rather than a bare status. Being stateless,
    it has no stream for a GET to open nor a session for a DELETE to end: both answer 405, which
    tells a client so (the protocol's words for it)."""
    try:
        user = await current_user(credentials, settings, session)
    except HTTPException as exc:
        error = {"code": UNAUTHORIZED, "message": f"Unauthorized: {exc.detail}"}
        body = {"detail": exc.detail, "jsonrpc": "2.0", "id": None, "error": error}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)
    if request.method != "POST":
        detail = "This MCP server is stateless: send each message in a POST (there is no stream to open nor session to end)."
        return JSONResponse({"detail": detail}, status_code=405, headers={"Allow": "POST"})
    await release(session)  # the tools open their own; none is held while they run
    request.state.user = user
    return _Transport(request.app.state.mcp)

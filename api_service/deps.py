"""Request-scoped dependencies: what the app made in its lifespan (each read from ``app.state``
here and only here, typed), a database session, the signed-in user, and rows the caller owns
(else 404). Routes take them as the ``…Dep`` aliases below."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from redis.asyncio import Redis
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api_service.auth import CurrentUser, decode_token, unauthorized
from api_service.db.models import MeetingSession, SessionStatus, Template, User
from api_service.domain import participants
from api_service.livekit_access import AgentDispatcher, LiveKitUnavailable, participant_identity
from api_service.llm import LLMConfig
from api_service.password_reset import issued_before_password_change
from api_service.quotas import Quotas
from api_service.settings import APISettings
from api_service.storage import AudioStorage
from shared.errors import Refused


async def settings(request: Request) -> APISettings:
    return request.app.state.settings


async def sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    return request.app.state.sessionmaker


async def storage(request: Request) -> AudioStorage:
    return request.app.state.storage


async def redis(request: Request) -> Redis:
    return request.app.state.redis


async def dispatcher(request: Request) -> AgentDispatcher:
    return request.app.state.dispatcher


async def llm(request: Request) -> LLMConfig | None:
    """None when neither LLM_MODEL nor LLM_CONFIG_FILE is configured (summaries use the extractive
    fallback; questions are answered with passages)."""
    return request.app.state.llm


SettingsDep = Annotated[APISettings, Depends(settings)]
SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(sessionmaker)]
StorageDep = Annotated[AudioStorage, Depends(storage)]
RedisDep = Annotated[Redis, Depends(redis)]
DispatcherDep = Annotated[AgentDispatcher, Depends(dispatcher)]
LlmDep = Annotated[LLMConfig | None, Depends(llm)]


async def quotas(settings: SettingsDep, redis: RedisDep) -> Quotas:
    return Quotas(settings, redis)


QuotasDep = Annotated[Quotas, Depends(quotas)]


async def db(sessions: SessionmakerDep) -> AsyncIterator[AsyncSession]:
    """The one database-session dependency: FastAPI shares its value within a request by this
    callable, so ``current_user`` and the route get the same session."""
    async with sessions() as session:
        yield session


DbDep = Annotated[AsyncSession, Depends(db)]
# For routes that stream (server-sent events): the session closes when the route function returns,
# before the body streams, so an open stream holds no database connection.
StreamDbDep = Annotated[AsyncSession, Depends(db, scope="function")]

_bearer = HTTPBearer(auto_error=False)


async def current_user(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)], settings: SettingsDep, session: DbDep
) -> CurrentUser:
    if credentials is None:
        raise unauthorized("missing bearer token")
    claims = await decode_token(settings, credentials.credentials)
    user = CurrentUser(id=str(claims["sub"]), email=str(claims["email"]) if claims.get("email") else None)
    row = await session.get(User, user.id)
    if issued_before_password_change(claims, row):
        raise unauthorized("This sign-in ended when the password was changed; sign in again.")
    # Users of an external identity provider get their row on first sight.
    if row is None:
        session.add(User(id=user.id, email=None))
        try:
            await session.commit()
        except IntegrityError:  # a concurrent first request (a page loading several things) made it
            await session.rollback()
    return user


CurrentUserDep = Annotated[CurrentUser, Depends(current_user)]


async def release(session: AsyncSession) -> None:
    """End the transaction so the connection goes back to the pool before a slow wait (a model
    call). Loaded rows stay usable (expire_on_commit=False); the next query starts a new one."""
    await session.commit()


async def before_model_call(quotas: Quotas, user_id: str, session: AsyncSession) -> None:
    """Count the call against the user's summaries quota (429 past it), then give the database
    connection back for the length of the call."""
    await quotas.charge(user_id, "summaries")
    await release(session)


def not_found(what: str = "session") -> HTTPException:
    """404 "<what> not found", code ``<what>_not_found`` (session_not_found, job_not_found, …)."""
    return Refused(status.HTTP_404_NOT_FOUND, f"{what}_not_found", f"{what} not found")


async def owned_session(session: AsyncSession, session_id: str, user_id: str) -> MeetingSession:
    row = await session.get(MeetingSession, session_id)
    if row is None or row.user_id != user_id:
        raise not_found()  # another user's session looks exactly like a missing one
    return row


async def meeting_reader(session: AsyncSession, session_id: str, user_id: str, dispatcher: AgentDispatcher) -> MeetingSession:
    """A session its owner may read, or one whose live meeting the user is in right now (an
    invited participant: LiveKit is asked whether they are connected); any other looks missing.
    A guest reads only while the meeting runs and they are in it: leaving, being removed or the
    meeting ending ends it (afterwards a session its owner shares is read through ``shared_reader``)."""
    row = await session.get(MeetingSession, session_id)
    if row is None:
        raise not_found()
    if row.user_id == user_id:
        return row
    if row.status not in (SessionStatus.created, SessionStatus.live):
        raise not_found()
    await release(session)  # no connection is held while LiveKit answers
    try:
        present = await dispatcher.in_room(row.room_name, participant_identity(user_id))
    except LiveKitUnavailable:
        present = False  # who is in the meeting cannot be told: a non-owner reads nothing
    if not present:
        raise not_found()
    return row


async def shared_reader(session: AsyncSession, session_id: str, user_id: str) -> MeetingSession:
    """A session the user may read as shared (``domain.participants.may_read_shared``): its owner,
    or someone who joined its meeting through the invite, was not removed, and to whom the owner
    shares it now. To anyone else it looks missing, as another user's session does."""
    row = await session.get(MeetingSession, session_id)
    if row is None or not await participants.may_read_shared(session, row, user_id):
        raise not_found()
    return row


async def readable_template(session: AsyncSession, template_id: str, user_id: str) -> Template:
    """A system template or one of the user's own (another user's looks like a missing one)."""
    template = await session.get(Template, template_id)
    if template is None or template.user_id not in (None, user_id):
        raise not_found("template")
    return template


async def check_template(session: AsyncSession, template_id: str | None, user_id: str) -> Template | None:
    """A template the user may name for a session, when one is named."""
    return await readable_template(session, template_id, user_id) if template_id else None


async def session_vocabulary(
    session: AsyncSession, vocabulary: list[str] | None, template_id: str | None, user_id: str
) -> list[str]:
    """A new session's vocabulary: the one it was given, else its template's (checking that the
    user may name the template)."""
    template = await check_template(session, template_id, user_id)
    if vocabulary is not None:
        return vocabulary
    return list(template.vocabulary or []) if template else []

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api_service import mail, password_reset
from api_service.auth import check_password, hash_password, issue_token
from api_service.db.models import User
from api_service.deps import CurrentUserDep, DbDep, RedisDep, SettingsDep
from api_service.ratelimit import limit
from api_service.schemas.auth import Credentials, Notice, PasswordResetConfirm, PasswordResetRequest, TokenOut, UserOut
from api_service.settings import APISettings
from shared.errors import Refused

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def token_for(settings: APISettings, user: User) -> TokenOut:
    token, ttl = issue_token(settings, user.id, user.email)
    return TokenOut(access_token=token, expires_in=ttl, user=UserOut(id=user.id, email=user.email))


@router.post("/signup", response_model=TokenOut, status_code=status.HTTP_201_CREATED)
async def signup(body: Credentials, request: Request, redis: RedisDep, settings: SettingsDep, session: DbDep) -> TokenOut:
    await limit(request, redis, "signup", settings.auth_rate_limit_per_minute)
    email = body.email.lower()
    policy = settings.signup_policy
    if policy == "closed":
        raise Refused(
            status.HTTP_403_FORBIDDEN, "signup_closed", "Sign-up is closed on this server; ask its administrator for an account."
        )
    if policy == "invite":
        # An invitation is a row an admin made for the email, still without a password.
        user = (await session.execute(select(User).where(User.email == email, User.password_hash.is_(None)))).scalar_one_or_none()
        if user is None:
            raise Refused(
                status.HTTP_403_FORBIDDEN,
                "signup_needs_invite",
                "Sign-up needs an invitation on this server; ask its administrator.",
            )
    else:
        user = User(email=email)
    user.password_hash = await hash_password(body.password)
    session.add(user)
    try:
        await session.commit()
    except IntegrityError:
        raise Refused(status.HTTP_409_CONFLICT, "account_exists", "an account with this email exists") from None
    return token_for(settings, user)


@router.post("/login", response_model=TokenOut)
async def login(body: Credentials, request: Request, redis: RedisDep, settings: SettingsDep, session: DbDep) -> TokenOut:
    await limit(request, redis, "login", settings.auth_rate_limit_per_minute)
    user = (await session.execute(select(User).where(User.email == body.email.lower()))).scalar_one_or_none()
    if not await check_password(user.password_hash if user else None, body.password) or user is None:
        raise Refused(status.HTTP_401_UNAUTHORIZED, "wrong_credentials", "wrong email or password")
    return token_for(settings, user)


@router.post("/password-reset", response_model=Notice, status_code=status.HTTP_202_ACCEPTED)
async def request_password_reset(
    body: PasswordResetRequest,
    request: Request,
    background: BackgroundTasks,
    redis: RedisDep,
    settings: SettingsDep,
    session: DbDep,
) -> Notice:
    """E-mails a single-use link to choose a new password; the same answer whether or not an
    account uses the address (the e-mail goes out after it)."""
    if not mail.configured(settings):
        raise Refused(status.HTTP_503_SERVICE_UNAVAILABLE, "email_not_configured", password_reset.NO_EMAIL)
    email = body.email.lower()
    await limit(request, redis, "password-reset", settings.auth_rate_limit_per_minute, password_reset.rate_subject(email))
    language = body.language or ("zh" if request.headers.get("accept-language", "").lower().startswith("zh") else "en")
    message = await password_reset.request_reset(settings, redis, session, email, language)
    if message is not None:
        background.add_task(password_reset.deliver, settings, message)
    return Notice(detail=password_reset.accepted(settings))


@router.post("/password-reset/confirm", response_model=Notice)
async def confirm_password_reset(
    body: PasswordResetConfirm, request: Request, redis: RedisDep, settings: SettingsDep, session: DbDep
) -> Notice:
    """Sets the new password (sign-up's rules) with a link's token, once; tokens issued before it
    stop working."""
    await limit(request, redis, "password-change", settings.auth_rate_limit_per_minute)
    try:
        await password_reset.confirm(redis, session, body.token, body.password)
    except password_reset.ResetRefused as refused:
        raise Refused(status.HTTP_400_BAD_REQUEST, "reset_link_invalid", str(refused)) from None
    except password_reset.ResetUnavailable as away:
        raise Refused(
            status.HTTP_503_SERVICE_UNAVAILABLE, "service_unavailable", str(away), {"service": "redis"}, {"Retry-After": "60"}
        ) from None
    return Notice(detail=password_reset.CHANGED)


@router.get("/me", response_model=UserOut)
async def me(user: CurrentUserDep) -> UserOut:
    return UserOut(id=user.id, email=user.email)

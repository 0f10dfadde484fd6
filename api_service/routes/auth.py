from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api_service.auth import check_password, hash_password, issue_token
from api_service.db.models import User
from api_service.deps import CurrentUserDep, DbDep, RedisDep, SettingsDep
from api_service.ratelimit import limit
from api_service.schemas.auth import Credentials, TokenOut, UserOut
from api_service.settings import APISettings

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
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Sign-up is closed on this server; ask its administrator for an account.")
    if policy == "invite":
        # An invitation is a row an admin made for the email, still without a password.
        user = (await session.execute(select(User).where(User.email == email, User.password_hash.is_(None)))).scalar_one_or_none()
        if user is None:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "Sign-up needs an invitation on this server; ask its administrator.")
    else:
        user = User(email=email)
    user.password_hash = await hash_password(body.password)
    session.add(user)
    try:
        await session.commit()
    except IntegrityError:
        raise HTTPException(status.HTTP_409_CONFLICT, "an account with this email exists") from None
    return token_for(settings, user)


@router.post("/login", response_model=TokenOut)
async def login(body: Credentials, request: Request, redis: RedisDep, settings: SettingsDep, session: DbDep) -> TokenOut:
    await limit(request, redis, "login", settings.auth_rate_limit_per_minute)
    user = (await session.execute(select(User).where(User.email == body.email.lower()))).scalar_one_or_none()
    if not await check_password(user.password_hash if user else None, body.password) or user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong email or password")
    return token_for(settings, user)


@router.get("/me", response_model=UserOut)
async def me(user: CurrentUserDep) -> UserOut:
    return UserOut(id=user.id, email=user.email)

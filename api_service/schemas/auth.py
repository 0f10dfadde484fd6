"""Accounts: sign-up and log-in bodies, password resets, the signed-in user, tokens."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, EmailStr, Field

# The one rule for a new password: sign-up, reset links and the admin command.
Password = Annotated[str, Field(min_length=8, max_length=256)]


class Credentials(BaseModel):
    email: EmailStr
    password: Password


class PasswordResetRequest(BaseModel):
    email: EmailStr
    # The language of the e-mail (the web app sends its own); else Accept-Language decides.
    language: Literal["en", "zh"] | None = None


class PasswordResetConfirm(BaseModel):
    token: str = Field(min_length=16, max_length=256)
    password: Password


class Notice(BaseModel):
    """A sentence for the person, where there is nothing else to answer."""

    detail: str


class UserOut(BaseModel):
    id: str
    email: str | None


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    user: UserOut

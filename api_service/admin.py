"""Account administration from the server's shell (``python -m api_service.admin``), for local
accounts whatever the sign-up policy:

    create-user EMAIL      an account; the password is read from stdin, or generated and printed
    reset-password EMAIL   a new password for an account (stdin, or generated and printed); the
                           account's earlier sign-ins and reset links stop working
    invite EMAIL           lets EMAIL sign up while AUTH_SIGNUP=invite

It reads the same settings as the API (DATABASE_URL from the environment or .env)."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys

from sqlalchemy import select

from api_service.auth import hash_password
from api_service.db.engine import make_engine, migrate, sessionmaker
from api_service.db.models import User, now
from api_service.schemas.auth import Credentials
from api_service.settings import APISettings


class AdminError(Exception):
    pass


def read_password(from_stdin: bool) -> tuple[str, bool]:
    """(password, generated)."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
        Credentials(email="check@example.com", password=password)  # the sign-up form's rules
        return password, False
    return secrets.token_urlsafe(12), True


async def run(command: str, email: str, password_stdin: bool, settings: APISettings) -> str:
    email = Credentials(email=email, password="x" * 12).email.lower()
    if settings.database_auto_migrate:
        await migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        async with sessionmaker(engine)() as db:
            user = (await db.execute(select(User).where(User.email == email))).scalar_one_or_none()
            if command == "invite":
                if user is not None:
                    raise AdminError(f"{email} already has an account")
                db.add(User(email=email, password_hash=None))
                await db.commit()
                return f"invited {email}: they can sign up now"
            if command == "create-user" and user is not None:
                raise AdminError(f"{email} already has an account; use reset-password")
            if command == "reset-password" and user is None:
                raise AdminError(f"no account for {email}; use create-user")
            password, generated = read_password(password_stdin)
            if user is None:
                user = User(email=email)
                db.add(user)
            user.password_hash = await hash_password(password)
            if command == "reset-password":
                user.password_changed_at = now()  # the account's earlier sign-ins and reset links end
            await db.commit()
            done = "created" if command == "create-user" else "reset the password of"
            return f"{done} {email}" + (f"; password: {password}" if generated else "")
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api_service.admin", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["create-user", "reset-password", "invite"])
    parser.add_argument("email")
    parser.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    args = parser.parse_args(argv)
    try:
        print(asyncio.run(run(args.command, args.email, args.password_stdin, APISettings())))
    except (AdminError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

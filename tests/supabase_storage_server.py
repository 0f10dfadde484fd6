"""A local stand-in for Supabase Storage (the storage-api behind ``/storage/v1``), for the
storage tests: hosted Supabase cannot be reached from here. It answers the endpoints supabase-py's
storage client (storage3) and our backend call, with the shapes the real server uses
(supabase/storage: src/http/routes/object/*, src/internal/errors/codes.ts, error-handler.ts):

- every request except a signed-URL download carries ``Authorization: Bearer <JWT>``, verified
  with the project's JWT secret; a bad one answers HTTP 400 with
  ``{"statusCode": "403", "code": "AccessDenied", "error": "Unauthorized", "message": ...}``
  (the real server renders its errors with HTTP 400 and puts the meaningful status in the body);
- ``POST /bucket``, ``GET /bucket/{id}``; ``POST /object/{bucket}/{path}`` (multipart ``file``)
  → ``{"Id", "Key": "<bucket>/<path>"}``, a duplicate → 409 Duplicate, over the bucket's
  ``file_size_limit`` → 413 "Payload too large"; ``GET /object/{bucket}/{path}`` (and
  ``/object/authenticated/…``); ``DELETE /object/{bucket}`` ``{"prefixes": [...]}``;
- ``POST /object/sign/{bucket}/{path}`` ``{"expiresIn"}`` → ``{"signedURL": "/object/sign/…?token=<JWT>"}``
  (HS256 ``{url, scope: "download", iat, exp}``), and ``GET`` of that URL with no other
  credentials: the token's signature, scope, path and expiry are checked ("InvalidJWT",
  ``"exp" claim timestamp check failed``); byte ranges work;
- a missing object is ``{"statusCode": "404", "error": "not_found", "message": "Object not found"}``,
  a missing bucket ``"Bucket not found"``; public URLs of a private bucket are "Bucket not found".

Every request waits a few milliseconds (``latency_s``) like a real round trip and is recorded.
``clock_offset_s`` moves the server's clock (to expire signed URLs without waiting), and
``hold_downloads()`` parks authenticated downloads until ``release_downloads()``."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, JSONResponse

from devstack.procs import free_port


def storage_error(status: str, code: str, message: str, error: str | None = None, http_status: int = 400) -> JSONResponse:
    return JSONResponse({"statusCode": status, "code": code, "error": error or code, "message": message}, status_code=http_status)


def no_such_key() -> JSONResponse:
    return storage_error("404", "NoSuchKey", "Object not found", "not_found")


def no_such_bucket() -> JSONResponse:
    return storage_error("404", "NoSuchBucket", "Bucket not found", "Bucket not found")


class Refused(Exception):
    def __init__(self, response: JSONResponse) -> None:
        self.response = response


class FakeSupabaseStorage:
    def __init__(self, latency_s: float = 0.004) -> None:
        self.latency_s = latency_s
        self.jwt_secret = secrets.token_urlsafe(32)
        self.service_key = self.key("service_role")
        self.anon_key = self.key("anon")
        self.root = Path(tempfile.mkdtemp(prefix="fake-supabase-storage-"))
        self.buckets: dict[str, dict[str, Any]] = {}
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.requests: list[tuple[str, str, int]] = []
        self.clock_offset_s = 0.0
        self._downloads_open = threading.Event()
        self._downloads_open.set()
        self.downloads_waiting = 0
        self.app = FastAPI()
        self.app.middleware("http")(self.round_trip)
        self.app.exception_handler(Refused)(self.refused)
        base = "/storage/v1"
        self.app.get(base + "/bucket/{bucket_id}")(self.get_bucket)
        self.app.post(base + "/bucket")(self.create_bucket)
        self.app.post(base + "/object/sign/{bucket}/{name:path}")(self.sign)
        self.app.get(base + "/object/sign/{bucket}/{name:path}")(self.signed_download)
        self.app.get(base + "/object/public/{bucket}/{name:path}")(self.public_download)
        self.app.get(base + "/object/authenticated/{bucket}/{name:path}")(self.download)
        self.app.delete(base + "/object/{bucket}")(self.remove)
        self.app.post(base + "/object/{bucket}/{name:path}")(self.upload)
        self.app.get(base + "/object/{bucket}/{name:path}")(self.download)
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_config=None))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    # --- the test's side ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        """What SUPABASE_URL would be (https://<project>.supabase.co)."""
        return f"http://127.0.0.1:{self.port}"

    def key(self, role: str, secret: str | None = None) -> str:
        """An API key as Supabase issues them: a long-lived HS256 JWT with a role."""
        now = int(time.time())
        claims = {"iss": "supabase", "ref": "localproject", "role": role, "iat": now, "exp": now + 10 * 365 * 86400}
        return jwt.encode(claims, secret or self.jwt_secret, algorithm="HS256")

    def now(self) -> float:
        return time.time() + self.clock_offset_s

    def stored(self, bucket: str) -> dict[str, bytes]:
        return {name: self.path(b, name).read_bytes() for (b, name) in list(self.objects) if b == bucket}

    def delete_object(self, bucket: str, name: str) -> None:
        """As if someone removed it in the dashboard."""
        self.objects.pop((bucket, name))
        self.path(bucket, name).unlink()

    def hold_downloads(self) -> None:
        self._downloads_open.clear()

    def release_downloads(self) -> None:
        self._downloads_open.set()

    def __enter__(self) -> FakeSupabaseStorage:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release_downloads()
        self.server.should_exit = True
        self.thread.join(5)
        shutil.rmtree(self.root, ignore_errors=True)

    # --- the server's side --------------------------------------------------------------------

    def path(self, bucket: str, name: str) -> Path:
        return self.root / bucket / name

    async def round_trip(self, request: Request, call_next: Any) -> Response:
        await asyncio.sleep(self.latency_s)
        response = await call_next(request)
        self.requests.append((request.method, request.url.path, response.status_code))
        return response

    async def refused(self, _request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Refused)
        return exc.response

    def authenticate(self, request: Request) -> dict[str, Any]:
        """storage-api's JWT plugin: the bearer token must verify with the project's secret; the
        buckets here are private, so only the service role reaches them (it bypasses RLS)."""
        token = (request.headers.get("authorization") or "").removeprefix("Bearer ").removeprefix("bearer ").strip()
        try:
            claims = jwt.decode(token, self.jwt_secret, algorithms=["HS256"], options={"verify_aud": False, "verify_exp": False})
        except jwt.InvalidSignatureError:
            raise Refused(storage_error("403", "AccessDenied", "signature verification failed", "Unauthorized")) from None
        except jwt.PyJWTError:
            raise Refused(storage_error("403", "AccessDenied", "Invalid Compact JWS", "Unauthorized")) from None
        if claims.get("exp", 0) < self.now():
            raise Refused(storage_error("403", "AccessDenied", '"exp" claim timestamp check failed', "Unauthorized"))
        if claims.get("role") != "service_role":
            raise Refused(storage_error("403", "AccessDenied", "new row violates row-level security policy", "Unauthorized"))
        return claims

    def bucket(self, bucket_id: str) -> dict[str, Any]:
        if bucket_id not in self.buckets:
            raise Refused(no_such_bucket())
        return self.buckets[bucket_id]

    async def get_bucket(self, bucket_id: str, request: Request) -> Response:
        self.authenticate(request)
        return JSONResponse(self.bucket(bucket_id))

    async def create_bucket(self, request: Request) -> Response:
        self.authenticate(request)
        body = await request.json()
        bucket_id = body.get("id") or body["name"]
        if bucket_id in self.buckets:
            return storage_error("409", "BucketAlreadyExists", "The resource already exists", "Duplicate")
        stamp = datetime.now(UTC).isoformat()
        self.buckets[bucket_id] = {
            "id": bucket_id,
            "name": body.get("name") or bucket_id,
            "owner": "",
            "public": bool(body.get("public", False)),
            "type": "STANDARD",
            "file_size_limit": body.get("file_size_limit"),
            "allowed_mime_types": body.get("allowed_mime_types"),
            "created_at": stamp,
            "updated_at": stamp,
        }
        (self.root / bucket_id).mkdir(parents=True, exist_ok=True)
        return JSONResponse({"name": bucket_id})

    async def upload(self, bucket: str, name: str, request: Request) -> Response:
        self.authenticate(request)
        limits = self.bucket(bucket)
        if (bucket, name) in self.objects and request.headers.get("x-upsert") != "true":
            return storage_error("409", "KeyAlreadyExists", "The resource already exists", "Duplicate")
        limit = limits.get("file_size_limit")
        declared = int(request.headers.get("content-length") or 0)
        if limit and declared > limit:
            return storage_error("413", "EntityTooLarge", "The object exceeded the maximum allowed size", "Payload too large")
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            return storage_error("400", "InvalidRequest", "No content provided")
        target = self.path(bucket, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as out:
            await asyncio.to_thread(shutil.copyfileobj, upload.file, out, 1 << 20)
        size = target.stat().st_size
        if limit and size > limit:
            target.unlink()
            return storage_error("413", "EntityTooLarge", "The object exceeded the maximum allowed size", "Payload too large")
        stamp = datetime.now(UTC).isoformat()
        self.objects[(bucket, name)] = {
            "id": str(uuid.uuid4()),
            "name": name,
            "bucket_id": bucket,
            "owner": "",
            "created_at": stamp,
            "updated_at": stamp,
            "last_accessed_at": stamp,
            "metadata": {
                "size": size,
                "mimetype": upload.content_type or "application/octet-stream",
                "cacheControl": f"max-age={form.get('cacheControl') or 3600}",
            },
        }
        return JSONResponse({"Id": self.objects[(bucket, name)]["id"], "Key": f"{bucket}/{name}"})

    def serve(self, bucket: str, name: str, extra: dict[str, str] | None = None) -> Response:
        meta = self.objects.get((bucket, name))
        if meta is None:
            return no_such_key()
        return FileResponse(
            self.path(bucket, name),
            media_type=meta["metadata"]["mimetype"],
            headers={"Cache-Control": meta["metadata"]["cacheControl"], **(extra or {})},
        )

    async def download(self, bucket: str, name: str, request: Request) -> Response:
        self.authenticate(request)
        self.bucket(bucket)
        self.downloads_waiting += 1
        try:
            await asyncio.to_thread(self._downloads_open.wait, 120)
        finally:
            self.downloads_waiting -= 1
        return self.serve(bucket, name)

    async def public_download(self, bucket: str, name: str) -> Response:
        if not self.buckets.get(bucket, {}).get("public"):
            return no_such_bucket()
        return self.serve(bucket, name)

    async def sign(self, bucket: str, name: str, request: Request) -> Response:
        self.authenticate(request)
        self.bucket(bucket)
        body = await request.json()
        try:
            expires_in = int(body["expiresIn"])  # storage3 sends it as a string; the server coerces
        except (KeyError, TypeError, ValueError):
            return storage_error("400", "InvalidRequest", "body must have required property 'expiresIn'")
        if expires_in < 1:
            return storage_error("400", "InvalidRequest", "body/expiresIn must be >= 1")
        if (bucket, name) not in self.objects:
            return no_such_key()
        now = int(self.now())
        token = jwt.encode(
            {"url": f"{bucket}/{name}", "scope": "download", "iat": now, "exp": now + expires_in}, self.jwt_secret, "HS256"
        )
        return JSONResponse({"signedURL": f"/object/sign/{bucket}/{name}?token={token}"})

    async def signed_download(self, bucket: str, name: str, token: str | None = None) -> Response:
        if not token:
            return storage_error("400", "InvalidRequest", "querystring must have required property 'token'")
        try:
            claims = jwt.decode(token, self.jwt_secret, algorithms=["HS256"], options={"verify_exp": False})
        except jwt.InvalidSignatureError:
            return storage_error("400", "InvalidJWT", "signature verification failed")
        except jwt.PyJWTError:
            return storage_error("400", "InvalidJWT", "Invalid Compact JWS")
        if claims.get("exp", 0) < self.now():
            return storage_error("400", "InvalidJWT", '"exp" claim timestamp check failed')
        if claims.get("scope") != "download":
            return storage_error("400", "InvalidSignature", "Token is not scoped for download")
        if claims.get("url") != f"{bucket}/{name}":
            return storage_error("400", "InvalidSignature", "Invalid signature")
        expires = datetime.fromtimestamp(claims["exp"], UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
        return self.serve(bucket, name, {"Expires": expires})

    async def remove(self, bucket: str, request: Request) -> Response:
        self.authenticate(request)
        self.bucket(bucket)
        body = await request.json()
        prefixes = body.get("prefixes") if isinstance(body, dict) else None
        if not isinstance(prefixes, list) or not prefixes:
            return storage_error("400", "InvalidRequest", "body/prefixes must NOT have fewer than 1 items")
        removed = []
        for name in prefixes:
            if (meta := self.objects.pop((bucket, name), None)) is not None:
                self.path(bucket, name).unlink(missing_ok=True)
                removed.append(meta)
        return JSONResponse(removed)

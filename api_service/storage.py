"""Where recordings live: the local filesystem (default) or a private Supabase Storage bucket
(``AUDIO_STORAGE=supabase``). Both sit behind one small interface:

- ``receive`` streams an upload (a file, or a request body being received) to a local file in
  chunks, refusing it as soon as it passes the size limit; the caller checks that file (ffprobe)
  and then ``store``s it. Leaving ``receive`` without storing, or with an exception, removes
  everything it made (for Supabase: the spooled file, and the object if it was already sent).
- ``local_copy`` gives a local path to a stored recording (for decoding in the worker);
- ``playback`` answers a request for the audio: the file itself (byte ranges for seeking), or
  a redirect to a short-lived signed URL;
- ``delete`` removes a session's recordings; ``check`` is the readiness check.

Nothing holds a whole recording in memory: Supabase uploads and downloads stream between the
network and a local scratch file."""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol
from urllib.parse import quote

import anyio
import httpx
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from shared.audio import AudioTooLarge, too_large

if TYPE_CHECKING:
    from api_service.settings import APISettings

log = logging.getLogger(__name__)
CHUNK = 1 << 20


class StorageError(Exception):
    """The audio store refused a request or could not be reached; the message says why (the API
    answers 503 with it). ``retryable``: worth trying again later (network), not a refusal."""

    def __init__(self, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class StreamReader:
    """A request body read chunk by chunk as it arrives."""

    def __init__(self, request: Request) -> None:
        self._chunks = request.stream()

    async def aread(self) -> bytes:
        async for chunk in self._chunks:
            if chunk:
                return chunk
        return b""


@dataclass
class Received:
    key: str  # where it will be stored: "<session id>/<random>.<ext>"
    path: Path  # a local file holding the bytes, to check before storing
    size: int
    stored: bool = False


async def _copy(source: BinaryIO | StreamReader, path: Path, limit: int) -> int:
    target = anyio.Path(path)
    await target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        async with await anyio.open_file(target, "wb") as out:
            while chunk := await (
                source.aread() if isinstance(source, StreamReader) else anyio.to_thread.run_sync(source.read, CHUNK)
            ):
                written += len(chunk)
                if written > limit:
                    raise too_large(limit)
                await out.write(chunk)
    except BaseException:
        await target.unlink(missing_ok=True)
        raise
    return written


def _new_key(session_id: str, suffix: str) -> str:
    return f"{session_id}/{uuid.uuid4().hex}{suffix}"


class AudioStorage(Protocol):
    kind: str

    def receive(
        self, source: BinaryIO | StreamReader, session_id: str, suffix: str, limit: int
    ) -> AbstractAsyncContextManager[Received]: ...

    async def store(self, received: Received, content_type: str) -> None: ...

    def local_copy(self, key: str) -> AbstractAsyncContextManager[Path]: ...

    async def playback(self, key: str, content_type: str) -> Response: ...

    async def delete(self, session_id: str, keys: list[str]) -> None: ...

    async def check(self) -> object: ...

    async def aclose(self) -> None: ...


class LocalStorage:
    kind = "local"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError(f"storage key escapes the storage root: {key}")
        return path

    @contextlib.asynccontextmanager
    async def receive(self, source: BinaryIO | StreamReader, session_id: str, suffix: str, limit: int) -> AsyncIterator[Received]:
        """Written straight to its final place; removed again unless stored."""
        key = _new_key(session_id, suffix)
        target = self.path(key)
        received = Received(key, target, 0)
        try:
            received.size = await _copy(source, target, limit)
            yield received
            if not received.stored:
                raise RuntimeError("received audio was neither stored nor discarded")
        except BaseException:
            target.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                target.parent.rmdir()  # only when empty
            raise

    async def store(self, received: Received, content_type: str) -> None:
        received.stored = True

    @contextlib.asynccontextmanager
    async def local_copy(self, key: str) -> AsyncIterator[Path]:
        yield self.path(key)

    async def playback(self, key: str, content_type: str) -> Response:
        return FileResponse(self.path(key), media_type=content_type)

    async def delete(self, session_id: str, keys: list[str]) -> None:
        for key in keys:
            self.path(key).unlink(missing_ok=True)
        folder = self.path(session_id)
        if folder.exists():
            for child in folder.iterdir():
                child.unlink(missing_ok=True)
            os.rmdir(folder)

    async def check(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK):
            raise StorageError(f"{self.root} is not writable")

    async def aclose(self) -> None:
        return None


class SupabaseStorage:
    """A private Supabase Storage bucket, through supabase-py's storage client (storage3).
    Requests carry the project's service key (server-side only); playback gets signed URLs
    that expire after ``signed_url_ttl_s``. Uploads are spooled to ``spool_dir`` first, so the
    format can be checked before anything is sent, then streamed from that file."""

    kind = "supabase"

    def __init__(self, url: str, service_key: str, bucket: str, signed_url_ttl_s: int, spool_dir: str | Path) -> None:
        from storage3 import AsyncStorageClient

        if not url or not service_key:
            raise RuntimeError("AUDIO_STORAGE=supabase needs SUPABASE_URL and SUPABASE_SERVICE_KEY")
        self.url = url.rstrip("/")
        self.base = f"{self.url}/storage/v1/"
        self.bucket_id = bucket
        self.ttl_s = signed_url_ttl_s
        self.spool = Path(spool_dir).resolve() / ".spool"
        self.headers = {"apikey": service_key, "Authorization": f"Bearer {service_key}"}
        # Timeouts are per read/write of a chunk, not for a whole transfer.
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=10.0), follow_redirects=True)
        self.client = AsyncStorageClient(self.base, self.headers, http_client=self.http)
        self.files = self.client.from_(bucket)

    def _error(self, exc: Exception, doing: str) -> Exception:
        """One clear sentence for whatever went wrong while ``doing`` something."""
        from storage3.exceptions import StorageApiError

        if isinstance(exc, httpx.HTTPError):
            return StorageError(f"Supabase Storage at {self.url} could not be reached while {doing}: {exc!r}", retryable=True)
        if not isinstance(exc, StorageApiError):
            return exc
        status, code = str(exc.status), str(exc.code)
        message = str(exc.message).removeprefix("Unable to parse error message: ")
        if status in ("401", "403") or code in ("AccessDenied", "Unauthorized", "InvalidJWT"):
            return StorageError(
                f"Supabase Storage rejected SUPABASE_SERVICE_KEY while {doing} ({status}: {message}); "
                "use the project's service_role key and check SUPABASE_URL"
            )
        if status == "413":
            return AudioTooLarge(f"The file is larger than the storage bucket accepts ({message}).")
        if status == "404" and code == "Bucket not found":
            return StorageError(f"the storage bucket {self.bucket_id!r} does not exist")
        if status == "404":
            return StorageError(f"the recording is missing from storage ({message})")
        return StorageError(
            f"Supabase Storage refused {doing} ({status} {code}: {message})", retryable=status.startswith("5") or status == "429"
        )

    @contextlib.asynccontextmanager
    async def receive(self, source: BinaryIO | StreamReader, session_id: str, suffix: str, limit: int) -> AsyncIterator[Received]:
        spooled = self.spool / f"{uuid.uuid4().hex}{suffix}"
        received = Received(_new_key(session_id, suffix), spooled, 0)
        try:
            received.size = await _copy(source, spooled, limit)
            yield received
            if not received.stored:
                raise RuntimeError("received audio was neither stored nor discarded")
        except BaseException:
            if received.stored:
                with contextlib.suppress(Exception):
                    await self.files.remove([received.key])
            raise
        finally:
            spooled.unlink(missing_ok=True)

    async def store(self, received: Received, content_type: str) -> None:
        try:
            # A path: storage3 opens it and httpx streams the multipart body from the file.
            await self.files.upload(received.key, str(received.path), {"content-type": content_type, "upsert": "false"})
        except Exception as exc:
            raise self._error(exc, "uploading a recording") from exc
        received.stored = True

    @contextlib.asynccontextmanager
    async def local_copy(self, key: str) -> AsyncIterator[Path]:
        """Streams the object to a scratch file (storage3's ``download`` would read it whole
        into memory), the same authenticated request it makes."""
        target = self.spool / f"{uuid.uuid4().hex}{Path(key).suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        url = f"{self.base}object/{quote(self.bucket_id)}/{quote(key)}"
        try:
            try:
                async with self.http.stream("GET", url, headers=self.headers) as response:
                    if response.is_error:
                        await response.aread()
                        raise self._api_error(response)
                    async with await anyio.open_file(target, "wb") as out:
                        async for chunk in response.aiter_bytes(CHUNK):
                            await out.write(chunk)
            except Exception as exc:
                raise self._error(exc, "downloading a recording") from exc
            yield target
        finally:
            target.unlink(missing_ok=True)

    @staticmethod
    def _api_error(response: httpx.Response) -> Exception:
        """The error storage3 raises for the same answer."""
        from storage3.exceptions import StorageApiError

        try:
            body: Any = response.json()
            return StorageApiError(body["message"], body["error"], body["statusCode"])
        except (KeyError, TypeError, ValueError):
            return StorageApiError(f"Unable to parse error message: {response.text}", "InternalError", response.status_code)

    async def playback(self, key: str, content_type: str) -> Response:
        try:
            signed = await self.files.create_signed_url(key, self.ttl_s)
        except Exception as exc:
            raise self._error(exc, "signing a playback URL") from exc
        if not (url := signed["signedURL"]):
            raise StorageError("the storage gave no playback URL", retryable=True)
        return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})

    async def delete(self, session_id: str, keys: list[str]) -> None:
        if not keys:
            return
        try:
            await self.files.remove(keys)
        except Exception as exc:
            raise self._error(exc, "deleting recordings") from exc

    async def check(self) -> None:
        """The bucket exists (it is created, private, when it does not) and is not public."""
        from storage3.exceptions import StorageApiError

        try:
            try:
                bucket = await self.client.get_bucket(self.bucket_id)
            except StorageApiError as exc:
                if str(exc.status) != "404":
                    raise
                log.info("creating the private storage bucket %s", self.bucket_id)
                with contextlib.suppress(StorageApiError):  # another process may have just made it
                    await self.client.create_bucket(self.bucket_id, options={"public": False})
                bucket = await self.client.get_bucket(self.bucket_id)
        except Exception as exc:
            raise self._error(exc, "checking the bucket") from exc
        if bucket.public:
            raise StorageError(f"the storage bucket {self.bucket_id!r} is public; recordings need a private bucket")

    async def aclose(self) -> None:
        await self.http.aclose()


def make_storage(settings: APISettings) -> AudioStorage:
    if settings.audio_storage == "supabase":
        return SupabaseStorage(
            settings.supabase_url,
            settings.supabase_service_key,
            settings.supabase_storage_bucket,
            settings.supabase_signed_url_ttl_s,
            settings.audio_storage_dir,
        )
    return LocalStorage(settings.audio_storage_dir)

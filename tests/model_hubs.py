"""Local stand-ins for the Hugging Face Hub and ModelScope, for the model download tests: neither
hub can be reached from here. Each serves folders the tests build (the embedded Whisper, the tiny
Paraformer, the random pyannote pipeline) as model repositories, on 127.0.0.1 and a free port,
answering the requests the real clients make and in the shapes the real hubs use:

- Hugging Face (huggingface_hub, pointed here by ``HF_ENDPOINT``):
  ``GET /api/models/{repo}/revision/{rev}`` (the commit sha and the file list),
  ``GET /api/models/{repo}/tree/{rev}[/{path}]?recursive=…`` (sizes, git blob ids, LFS sha256),
  ``HEAD``/``GET /{repo}/resolve/{rev}/{path}`` with ``X-Repo-Commit``, ``ETag`` /
  ``X-Linked-Etag`` and ``X-Linked-Size``; a missing repo is 401 ``X-Error-Code: RepoNotFound``
  (what the Hub answers an anonymous caller), a gated repo's files are 401 (no token) or 403
  (another token) with ``X-Error-Code: GatedRepo``.
- ModelScope (modelscope / modelscope_hub, pointed here by ``MODELSCOPE_ENDPOINT``):
  ``GET /api/v1/models/{owner}/{name}[/revisions]`` and
  ``GET /api/v1/models/{owner}/{name}/repo/files?Revision=…&Recursive=…`` in the
  ``{"Code": 200, "Data": …, "Success": true}`` envelope, and
  ``GET /api/v1/models/{owner}/{name}/repo?Revision=…&FilePath=…`` for a file's bytes;
  a missing repo is 404 with ``{"Code": 10010205001, "Message": "…not exists", "Success": false}``.

Every request is recorded (``requests``); anything else answers 404 and is recorded too, so a
test sees what a client asked for. Standard library only: it runs in every service's
environment."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from devstack.components import ROOT, StackPorts, StackSecrets, python_service, service_env
from devstack.procs import free_port

LFS_THRESHOLD = 1 << 20  # files above this are LFS files on the Hub (sha256 etag, redirect headers)


def _sha1_blob(path: Path) -> str:
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode(), usedforsecurity=False)
    digest.update(path.read_bytes())
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


@dataclass
class RepoFile:
    path: str
    local: Path
    size: int
    sha1: str
    sha256: str

    @classmethod
    def of(cls, path: str, local: Path) -> RepoFile:
        return cls(path, local, local.stat().st_size, _sha1_blob(local), _sha256(local))


@dataclass
class Repo:
    repo_id: str
    files: dict[str, RepoFile]
    sha: str
    token: str | None = None  # gated: files need this bearer token


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    authorization: str | None


def _folder_files(folder: Path) -> dict[str, RepoFile]:
    return {
        p.relative_to(folder).as_posix(): RepoFile.of(p.relative_to(folder).as_posix(), p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    }


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        self.server.connections.add(self.connection)

    def finish(self) -> None:
        self.server.connections.discard(self.connection)
        super().finish()

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        request = Request(method, unquote(url.path), parse_qs(url.query), self.headers.get("Authorization"))
        self.server.hub.requests.append(request)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
            self.server.hub.handle(self, request)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    # -- replies ----------------------------------------------------------------------------
    def send_json(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_file(self, file: RepoFile, headers: dict[str, str]) -> None:
        start, end = 0, file.size - 1
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if match:
            start, end = int(match[1]), int(match[2] or end)
        self.send_response(206 if match else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        if match:
            self.send_header("Content-Range", f"bytes {start}-{end}/{file.size}")
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command == "HEAD":
            return
        with open(file.local, "rb") as fh:
            fh.seek(start)
            left = end - start + 1
            while left > 0:
                block = fh.read(min(left, 1 << 20))
                if not block:
                    break
                self.wfile.write(block)
                left -= len(block)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    hub: ModelHub
    connections: set[socket.socket]


@dataclass
class ModelHub:
    """A hub on 127.0.0.1 and a free port, running while the ``with`` block runs."""

    repos: dict[str, Repo] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    _server: _Server | None = None
    _thread: threading.Thread | None = None

    def add_folder(self, repo_id: str, folder: Path, token: str | None = None) -> Repo:
        repo = Repo(repo_id, _folder_files(folder), hashlib.sha1(repo_id.encode(), usedforsecurity=False).hexdigest(), token)
        self.repos[repo_id] = repo
        return repo

    @property
    def url(self) -> str:
        assert self._server is not None, "the hub is not running"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> ModelHub:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.hub = self
        self._server.connections = set()
        self._thread = threading.Thread(target=self._server.serve_forever, name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            # Kept-alive connections would go on answering: the hub is gone for every client.
            for connection in list(self._server.connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def downloads(self, name: str) -> list[Request]:
        """GET requests that fetched a file whose path ends with ``name``."""
        return [r for r in self.requests if r.method == "GET" and self.file_of(r).endswith(name)]

    def file_of(self, request: Request) -> str:
        return ""

    def handle(self, h: _Handler, request: Request) -> None:
        raise NotImplementedError


class HuggingFaceHub(ModelHub):
    def file_of(self, request: Request) -> str:
        match = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", request.path)
        return match[3] if match else ""

    def _repo(self, h: _Handler, repo_id: str) -> Repo | None:
        repo = self.repos.get(repo_id)
        if repo is None:
            h.send_json(
                {"error": "Repository Not Found"},
                401,
                {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"},
            )
        return repo

    def handle(self, h: _Handler, request: Request) -> None:
        path = request.path
        if match := re.fullmatch(r"/api/models/([^/]+/[^/]+)/revision/([^/]+)", path):
            if repo := self._repo(h, match[1]):
                h.send_json(
                    {
                        "_id": repo.sha[:24],
                        "id": repo.repo_id,
                        "modelId": repo.repo_id,
                        "sha": repo.sha,
                        "private": False,
                        "gated": "manual" if repo.token else False,
                        "disabled": False,
                        "downloads": 0,
                        "likes": 0,
                        "tags": [],
                        "lastModified": "2026-01-01T00:00:00.000Z",
                        "createdAt": "2026-01-01T00:00:00.000Z",
                        "siblings": [{"rfilename": name} for name in repo.files],
                    }
                )
            return
        if match := re.fullmatch(r"/api/models/([^/]+/[^/]+)/tree/([^/]+)(?:/(.*))?", path):
            if repo := self._repo(h, match[1]):
                h.send_json(self._tree(repo, match[3] or "", request.query.get("recursive", ["false"])[0].lower() == "true"))
            return
        if match := re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path):
            if (repo := self._repo(h, match[1])) is None:
                return
            if repo.token and request.authorization != f"Bearer {repo.token}":
                status = 401 if request.authorization is None else 403
                message = (
                    f"Access to model {repo.repo_id} is restricted. You must have access to it and be "
                    "authenticated to access it. Please log in."
                    if status == 401
                    else f"Access to model {repo.repo_id} is restricted and you are not in the authorized list. "
                    f"Visit https://huggingface.co/{repo.repo_id} to ask for access."
                )
                h.send_json({"error": message}, status, {"X-Error-Code": "GatedRepo", "X-Error-Message": message})
                return
            file = repo.files.get(match[3])
            if file is None:
                h.send_json({"error": "Entry not found"}, 404, {"X-Error-Code": "EntryNotFound"})
                return
            headers = {"X-Repo-Commit": repo.sha, "ETag": f'"{file.sha1}"'}
            if file.size > LFS_THRESHOLD:
                headers.update({"X-Linked-Etag": f'"{file.sha256}"', "X-Linked-Size": str(file.size)})
            h.send_file(file, headers)
            return
        h.send_json({"error": f"no such route {path}"}, 404)

    def _tree(self, repo: Repo, root: str, recursive: bool) -> list[dict[str, Any]]:
        prefix = f"{root.strip('/')}/" if root.strip("/") else ""
        entries: dict[str, dict[str, Any]] = {}
        for name, file in repo.files.items():
            if not name.startswith(prefix):
                continue
            rest = name[len(prefix) :].split("/")
            for depth in range(1, len(rest)):
                folder = prefix + "/".join(rest[:depth])
                if recursive or depth == 1:
                    entries.setdefault(folder, {"type": "directory", "oid": "0" * 40, "size": 0, "path": folder})
            if recursive or len(rest) == 1:
                entry: dict[str, Any] = {"type": "file", "oid": file.sha1, "size": file.size, "path": name}
                if file.size > LFS_THRESHOLD:
                    entry["lfs"] = {"oid": file.sha256, "size": file.size, "pointerSize": 134}
                entries[name] = entry
        return list(entries.values())


class ModelScopeHub(ModelHub):
    def file_of(self, request: Request) -> str:
        if re.fullmatch(r"/api/v1/models/[^/]+/[^/]+/repo", request.path):
            return request.query.get("FilePath", [""])[0]
        return ""

    @staticmethod
    def _ok(h: _Handler, data: Any) -> None:
        h.send_json({"Code": 200, "Data": data, "Message": "success", "RequestId": "local", "Success": True})

    def _repo(self, h: _Handler, repo_id: str) -> Repo | None:
        repo = self.repos.get(repo_id)
        if repo is None:
            h.send_json(
                {"Code": 10010205001, "Message": f"model {repo_id} not exists", "RequestId": "local", "Success": False}, 404
            )
        return repo

    def handle(self, h: _Handler, request: Request) -> None:
        match = re.fullmatch(r"/api/v1/models/([^/]+/[^/]+)(/.*)?", request.path)
        if not match:
            h.send_json({"Code": 404, "Message": f"no such route {request.path}", "Success": False}, 404)
            return
        repo = self._repo(h, match[1])
        if repo is None:
            return
        rest = match[2] or ""
        if rest == "":
            self._ok(h, {"Id": 1, "Name": repo.repo_id.split("/")[1], "Path": repo.repo_id.split("/")[0], "Revision": "master"})
        elif rest == "/revisions":
            self._ok(h, {"RevisionMap": {"Branches": [{"Revision": "master", "CommitId": repo.sha}], "Tags": []}})
        elif rest == "/repo/files":
            self._ok(h, {"Files": list(self._files(repo))})
        elif rest == "/repo":
            file = repo.files.get(request.query.get("FilePath", [""])[0])
            if file is None:
                h.send_json({"Code": 10010205002, "Message": "file not exists", "Success": False}, 404)
            else:
                h.send_file(file, {})
        else:
            h.send_json({"Code": 404, "Message": f"no such route {request.path}", "Success": False}, 404)

    @staticmethod
    def _files(repo: Repo) -> Iterator[dict[str, Any]]:
        folders = sorted({"/".join(name.split("/")[:i]) for name in repo.files for i in range(1, name.count("/") + 1)})
        for folder in folders:
            yield {"Name": folder.rsplit("/", 1)[-1], "Path": folder, "Type": "tree", "Size": 0, "Revision": repo.sha}
        for name, file in repo.files.items():
            yield {
                "Name": name.rsplit("/", 1)[-1],
                "Path": name,
                "Type": "blob",
                "Size": file.size,
                "Sha256": file.sha256,
                "Revision": repo.sha,
                "IsLFS": file.size > LFS_THRESHOLD,
            }


@contextmanager
def model_service(package: str, tmp_path: Path, name: str, keys: StackSecrets, env: dict[str, str]) -> Iterator[str]:
    """``package`` (stt_service, diarization_service) started on a free port with ``env``; its URL."""
    port = free_port()
    port_setting = f"{package.removesuffix('_service').upper()}_PORT"
    full_env = {**service_env(StackPorts(), keys), port_setting: str(port), **env}
    proc = python_service(name, package, full_env, f"http://127.0.0.1:{port}/health/ready", tmp_path).start()
    try:
        proc.wait_ready()
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.stop()


def fetch_models(package: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m <package>.models fetch`` in the service's own environment."""
    return subprocess.run(
        [str(ROOT / package / ".venv" / "bin" / "python"), "-m", f"{package}.models", "fetch", *args],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )

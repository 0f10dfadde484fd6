"""The hostile-input corpus (files described in README.md) and what its tests share."""

from __future__ import annotations

import http.server
import re
import threading
from pathlib import Path

CORPUS = Path(__file__).resolve().parent
# Files that hold real audio behind a lying header: decoded as what they hold, header ignored.
DECODED_BY_CONTENT = {"claims_10h.wav": 1.0}
# What a person must never be shown: a server path, an errno, FFmpeg's own wording.
LEAKS = re.compile(r"/(tmp|proc|etc|work|root|home|var)\b|errno|\[Errno|returned -?\d+|avcodec|\.run/", re.IGNORECASE)


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.suffix not in {".py", ".md"})


class Listener:
    """An HTTP server on loopback that records every request it gets."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        requests = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requests.append(self.path)
                self.send_response(404)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def payload(self, path: Path) -> bytes:
        return path.read_bytes().replace(b"@LISTENER@", self.url.encode())

    def close(self) -> None:
        self.server.shutdown()

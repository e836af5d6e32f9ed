"""A canned FHIR server for the endpoint checks' fixtures: answers from a routes file of tests/conformance/fixtures/
endpoints (a true boundary: the SI's server). Keys: the first path segment (``Slot``), ``Slot?start`` when the query
has ``start``, ``*`` for anything else; values ``{"status", "body", "delay"}``."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ENDPOINTS = Path(__file__).parent / "fixtures" / "endpoints"


@contextmanager
def canned_server(name: str) -> Iterator[str]:
    routes: dict[str, Any] = json.loads((ENDPOINTS / f"{name}.json").read_text())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            segment = parts.path.strip("/").split("/")[0]
            key = f"{segment}?start" if "start" in parse_qs(parts.query) else segment
            answer = routes.get(key) or routes.get(segment) or routes["*"]
            time.sleep(answer.get("delay", 0))
            data = json.dumps(answer["body"]).encode()
            self.send_response(answer["status"])
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()

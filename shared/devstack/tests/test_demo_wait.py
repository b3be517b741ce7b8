"""`demo.wait_visible` against a gateway that is not ready yet: it asks again, and says what it got."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mpe_devstack import demo


class _Gateway(BaseHTTPRequestHandler):
    """Answers 503 problem+json `unready` times, then the list's size."""

    unready = 0
    asked = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).asked += 1
        if type(self).asked <= type(self).unready:
            body, status, kind = (
                b'{"title":"Service Unavailable","status":503}',
                503,
                "application/problem+json",
            )
        else:
            body = json.dumps({"data": {"technologies": {"totalCount": 200}}}).encode()
            status, kind = 200, "application/json"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[str]:
    _Gateway.asked = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_gateway_that_answers_503_first_is_asked_again(gateway: str) -> None:
    _Gateway.unready = 3
    assert demo.wait_visible(gateway, "key", timeout_s=10) == 200
    assert _Gateway.asked > 3


def test_a_gateway_that_never_answers_the_list_is_named_with_its_answer(gateway: str) -> None:
    _Gateway.unready = 10**6
    with pytest.raises(RuntimeError, match="never answered the list of technologies in 1 s: HTTP 503"):
        demo.wait_visible(gateway, "key", timeout_s=1)

"""The chaos run's writers: each holds its own pace, whatever the others write meanwhile."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import pytest

from mpe_devstack.chaos import Result, writes
from mpe_devstack.chaos.verdict import Verdict
from mpe_devstack.chaos.writes import Ledger, Write
from mpe_devstack.ports import free_port

# Writes per round, as the real rounds make them: a revision and its publication; a firm, its
# application and its move to review; a project, three transitions and two payments.
ROUND_SIZES = {"catalog": 2, "firms": 3, "budget": 6}


class _Stack:
    """What a writer asks of the chaos stack; the rounds below never send anything."""

    token = "not-used"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:9/{service}"


def _round(service: str) -> Callable[[object, Ledger, int], None]:
    def one_round(client: object, ledger: Ledger, n: int) -> None:
        for i in range(ROUND_SIZES[service]):
            sent = (time.time(), time.monotonic())
            time.sleep(0.01)  # a write's answer takes a few milliseconds
            ledger.record(service, "write", f"{n}-{i}", 201, sent)

    return one_round


def test_the_ledger_counts_each_service_apart() -> None:
    ledger = Ledger()
    sent = (time.time(), time.monotonic())
    assert ledger.record("firms", "firm", "1", 201, sent)
    assert not ledger.record("firms", "designation", "", 503, sent)
    assert not ledger.record("budget", "project", "P", None, sent)

    assert (ledger.made("firms"), ledger.made("budget"), ledger.made("catalog")) == (2, 1, 0)
    assert [w.status for w in ledger.writes] == [201, 503, None]
    assert all(w.at == round(sent[0], 3) and w.seconds >= 0 for w in ledger.writes)


def test_three_writers_each_keep_the_asked_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rounds of 2, 3 and 6 writes, all starting together: each writer waits for its own only.

    Counting the shared ledger's growth instead made a writer also wait for the writes the
    others made during its round: here the catalog's writer then made 36 to 48 of its 60
    writes (nine runs).
    """
    for service in ROUND_SIZES:
        monkeypatch.setitem(writes.ROUNDS, service, _round(service))
    ledger, stop = Ledger(), threading.Event()
    per_minute, seconds = 1200.0, 3.0  # 20 writes a second each
    threads = [
        threading.Thread(target=writes.writer, args=(_Stack(), s, ledger, stop, per_minute))
        for s in ROUND_SIZES
    ]
    began = time.time()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(5)

    # The writes sent in the first `seconds`, whenever this thread woke to stop them. A round is
    # sent at once, then paced, so the count is whole rounds, the last one begun in the window;
    # a loaded machine may start a round late, never early.
    asked = per_minute * seconds / 60
    made = {
        s: sum(1 for w in ledger.writes if w.service == s and w.at < began + seconds) for s in ROUND_SIZES
    }
    for service, size in ROUND_SIZES.items():
        assert 0.8 * asked <= made[service] <= asked + size, made


def _row(table: str, name: str) -> str:
    """The value of one row of the run's printed table."""
    (line,) = [line for line in table.splitlines() if line.strip().startswith(name + "  ")]
    return line.strip()[len(name) :].strip()


def test_the_table_sets_the_pace_made_against_the_pace_asked() -> None:
    """241 writes sent over two minutes: 120 a minute, where 300 were asked."""
    made = [Write("firms", "firm", str(i), 201, at=1_000.0 + i / 2) for i in range(241)]
    result = Result([], made, Verdict(), catch_up_s=0.0, drain_s=0.0, asked_per_minute=300)

    assert _row(result.table(), "writes a minute") == "120 (asked 300)"
    assert _row(Result([], [], Verdict(), None).table(), "writes a minute") == "-"


class _PayOnce(BaseHTTPRequestHandler):
    """Refuses the first POST with 503, answers the next with 201; keeps the keys it saw."""

    keys: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        _PayOnce.keys.append(self.headers.get("idempotency-key", ""))
        first = len(_PayOnce.keys) == 1
        body = b'{"detail": "busy"}' if first else b'{"id": "d-1"}'
        self.send_response(503 if first else 201)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


def test_a_payment_refused_with_a_5xx_is_sent_again_under_its_key() -> None:
    # Found by a review: the writers never sent a payment again, so the idempotency key's replay
    # was never exercised under the faults and "paid twice" could not happen to be seen.
    _PayOnce.keys = []
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _PayOnce)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ledger = Ledger()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.server_address[1]}") as client:
            answer = writes._post(
                client,
                ledger,
                "budget",
                "payment",
                "/pay",
                {},
                "key-1",
                retries=2,
                headers={"Idempotency-Key": "key-1"},
            )
    finally:
        server.shutdown()
    assert answer is not None
    assert answer.status_code == 201
    assert [w.status for w in ledger.writes] == [503, 201]
    assert _PayOnce.keys == ["key-1", "key-1"]


def test_a_writer_that_dies_is_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(client: object, ledger: Ledger, n: int) -> None:
        raise KeyError("id")  # a 2xx whose body had no id

    monkeypatch.setitem(writes.ROUNDS, "firms", broken)
    ledger = Ledger()
    writes.writer(_Stack(), "firms", ledger, threading.Event(), 60)  # type: ignore[arg-type]
    assert ledger.died == {"firms": "KeyError('id')"}

"""What /readyz says of Kafka, from asking it: a metadata round trip every few seconds.

The relay and the consumers report Kafka when they use it, but an idle relay sends nothing
and a consumer's empty poll looks the same whether the broker answers or not; a paused broker
even accepts connections. The probe asks for the cluster's metadata with a short deadline, so
`reachable` turns false within one interval and a deadline of the broker going silent, and
`last_ok` moves while it answers.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiokafka.client import AIOKafkaClient

from mpe_kit.kafka_client import KafkaClient, as_client
from mpe_kit.logging import get_logger
from mpe_kit.status import KafkaStatus

log = get_logger("mpe.kafka")


class KafkaProbe:
    """Asks the brokers for metadata every `interval_s`, and records the outcome in `status`."""

    def __init__(
        self, *, bootstrap: str | KafkaClient, status: KafkaStatus, interval_s: float, timeout_s: float = 2.0
    ) -> None:
        self._bootstrap = bootstrap
        self._status = status
        self._interval_s = interval_s
        self._timeout_s = timeout_s

    async def check(self) -> bool:
        """One round trip; True if a broker answered within the deadline."""
        client = AIOKafkaClient(
            **as_client(self._bootstrap).kwargs(),
            client_id="mpe-readiness-probe",
            request_timeout_ms=int(self._timeout_s * 1000),
        )
        try:
            async with asyncio.timeout(self._timeout_s):
                await client.bootstrap()
        except TimeoutError:
            self._status.failed(TimeoutError(f"no answer from Kafka within {self._timeout_s:g}s"))
            return False
        except Exception as exc:
            self._status.failed(exc)
            return False
        finally:
            with contextlib.suppress(Exception):
                await client.close()
        self._status.ok()
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Probe until `stop` is set."""
        while not stop.is_set():
            was = self._status.reachable
            now = await self.check()
            if was is not None and was != now:
                log.warning(
                    "Kafka is " + ("reachable again" if now else "unreachable"), error=self._status.last_error
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval_s)

"""What happened while a server was started, used and closed, for people and for JSON."""

from __future__ import annotations

import time
from typing import Any

from ._redact import redact

__all__ = ["Diagnostics"]

# The lifecycle events whose times are recorded, in order.
#: In order: the image found, the start-up snapshot decided, the container running (``docker run``
#: returned), its port read, a query answered, the container removed.
EVENTS = ("image", "snapshot", "created", "started", "port", "ready", "closed")


class Diagnostics:
    """A record of one server's life. Every string in it is redacted."""

    def __init__(
        self,
        *,
        container_id: str = "",
        container_name: str = "",
        image: str = "",
        host: str = "",
        port: int | None = None,
        reused: bool = False,
    ) -> None:
        self.container_id = container_id
        self.container_name = container_name
        self.image = image
        #: The start-up snapshot the container was started from (``""``: initialized with initdb).
        self.snapshot = ""
        self.host = host
        self.port = port
        self.reused = reused
        self.readiness_method = ""
        self.readiness_attempts = 0
        self.last_readiness_error = ""
        self.log_tail = ""
        self.cleanup_errors: list[str] = []
        #: Wall-clock times (``time.time()``) of the lifecycle events that happened.
        self.timestamps: dict[str, float] = {}
        self._began = time.monotonic()
        self._monotonic: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"Diagnostics({self.to_dict()!r})"

    def mark(self, event: str) -> None:
        """Record that *event* (one of :data:`EVENTS`) happened now."""
        self.timestamps[event] = time.time()
        self._monotonic[event] = time.monotonic()

    def note_readiness_error(self, error: BaseException | str) -> None:
        self.last_readiness_error = redact(str(error))

    def note_cleanup_error(self, error: BaseException | str) -> None:
        self.cleanup_errors.append(redact(str(error)))

    def set_log_tail(self, text: str) -> None:
        self.log_tail = redact(text)

    @property
    def durations(self) -> dict[str, float]:
        """Seconds between consecutive events, e.g. ``{"created->started": 0.41}``, plus the total to ready."""
        out: dict[str, float] = {}
        seen = [e for e in EVENTS if e in self._monotonic]
        for first, second in zip(seen, seen[1:]):
            out[f"{first}->{second}"] = round(self._monotonic[second] - self._monotonic[first], 4)
        if "ready" in self._monotonic:
            out["total_to_ready"] = round(self._monotonic["ready"] - self._began, 4)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain JSON-able values."""
        data: dict[str, Any] = {k: v for k, v in vars(self).items() if not k.startswith("_")}
        data["cleanup_errors"] = list(self.cleanup_errors)
        data["timestamps"] = dict(self.timestamps)
        data["durations"] = self.durations
        return data

"""What a simulated charge point keeps for when it cannot reach its central
system: its local authorisation list, and the transaction messages it queues.

The list is updated by SendLocalList (full, or differential with a higher
version) and read by Authorize while offline; tokens compare case-insensitively
(OCPP's CiString). Queued messages keep their own timestamps and go out, in
order, once the charge point is connected again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable


class LocalAuthList:
    """A charge point's local authorisation list."""

    def __init__(self, *, supported: bool = True) -> None:
        """``supported=False``: a charge point without the feature."""
        self.supported = supported
        self.version = 0
        """0: no list yet."""
        self.entries: dict[str, str] = {}
        """Token (upper case) → status."""
        self.updates: list[tuple[int, str]] = []
        """(version, update type) of every update it took."""

    def update(
        self, version: int, update_type: str, items: Iterable[tuple[str, str | None]]
    ) -> str:
        """Apply a SendLocalList; its answer's status. An item without status
        is removed (a differential update)."""
        if not self.supported:
            return "NotSupported"
        changes = [(token.upper(), status) for token, status in items]
        if update_type == "Full":
            self.entries = {t: s for t, s in changes if s is not None}
        elif version <= self.version:
            return "VersionMismatch"
        else:
            for token, status in changes:
                if status is None:
                    self.entries.pop(token, None)
                else:
                    self.entries[token] = status
        self.version = version
        self.updates.append((version, update_type))
        return "Accepted"

    def accepts(self, token: str) -> bool:
        """Whether the list lets this token charge."""
        return self.entries.get(token.upper()) == "Accepted"


Send = Callable[[], Awaitable[None]]


class OfflineQueue:
    """Transaction messages waiting for the connection, oldest first."""

    def __init__(self) -> None:
        self._waiting: list[Send] = []
        self.sent_late = 0
        """How many went out after a reconnection."""

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, send: Send) -> None:
        """Send it once connected (``send`` builds the message then)."""
        self._waiting.append(send)

    async def flush(self) -> None:
        """Send every waiting message, in order (one at a time, each answered
        before the next: a 1.6 stop needs its start's transaction id)."""
        while self._waiting:
            send = self._waiting.pop(0)
            await send()
            self.sent_late += 1

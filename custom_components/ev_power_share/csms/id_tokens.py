"""Who may charge, as the central system asks it: the answer to an id token, and
the local authorisation list a station keeps for when it cannot ask.

The integration injects an :class:`IdTokens` (``CentralSystem(tokens=...)``);
without one, every token is accepted and no list is sent (a home's charger).
An answer's status is one of OCPP's authorisation statuses (``Accepted``,
``Invalid``, ``Blocked``, ``Expired``), spelt alike in 1.6 and 2.0.1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

ACCEPTED = "Accepted"
INVALID = "Invalid"
STATUSES = frozenset({ACCEPTED, INVALID, "Blocked", "Expired"})
"""The statuses an answer (and a list entry) may carry."""


@dataclass(frozen=True, slots=True)
class TokenAnswer:
    """Whether an id token may charge, and whose it is."""

    status: str
    user_id: str | None = None

    @property
    def accepted(self) -> bool:
        """Whether it may charge."""
        return self.status == ACCEPTED


@dataclass(frozen=True, slots=True)
class LocalList:
    """A station's local authorisation list: its version (> 0) and the status
    of each token on it."""

    version: int
    entries: Mapping[str, str] = field(default_factory=dict)


class IdTokens(Protocol):
    """Answers id tokens for the central system (called in the event loop;
    never blocks)."""

    def authorize(
        self, station_id: str, connector_id: int, id_token: object
    ) -> TokenAnswer:
        """The answer to a token presented at a station's connector (0: the
        station, before a connector is chosen). ``id_token`` is as the
        station sent it (schema-checked, not screened)."""

    def local_list(self, station_id: str) -> LocalList | None:
        """The list a station is to keep, or None to leave its list alone."""


class AcceptAll:
    """Every token may charge, and no list is sent (the default)."""

    def authorize(
        self, station_id: str, connector_id: int, id_token: object
    ) -> TokenAnswer:
        return TokenAnswer(ACCEPTED)

    def local_list(self, station_id: str) -> LocalList | None:
        return None


def screened(answer: object) -> TokenAnswer:
    """An injected answer made safe to send: a status OCPP knows (anything
    else is Invalid)."""
    if isinstance(answer, TokenAnswer) and answer.status in STATUSES:
        return answer
    return TokenAnswer(INVALID)


def list_changes(
    sent: Mapping[str, str], wanted: Mapping[str, str]
) -> dict[str, str | None]:
    """What turns list ``sent`` into ``wanted``: each token added or changed,
    with its status, and each removed, with None (a differential update)."""
    changes: dict[str, str | None] = {
        token: status for token, status in wanted.items() if sent.get(token) != status
    }
    changes.update(dict.fromkeys(sent.keys() - wanted.keys()))
    return changes

"""The site's users as the central system's id token authority.

Bridges :mod:`.core.access` (who may charge) and the central system
(:class:`~.csms.IdTokens`): a station's connector is a :class:`Place` (its
charger and the power groups above it), a decision an OCPP answer, and the
users allowed at a charger its local authorisation list, at the site's list
version. No Home Assistant imports: what it needs from Home Assistant is
injected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
import hashlib
import json

from .core.access import AccessList, AccessMode, Decision, Place, decide, local_list
from .csms import LocalList, TokenAnswer

RefusedCallback = Callable[[str, int, Decision], None]
"""Told (station id, connector, decision) of each token refused."""


def group_chain(
    group: str | None, parents: Mapping[str, str | None]
) -> tuple[str, ...]:
    """A group and those above it, innermost first (a loop is cut)."""
    chain: list[str] = []
    while group is not None and group not in chain:
        chain.append(group)
        group = parents.get(group)
    return tuple(chain)


@dataclass(frozen=True, slots=True)
class SitePlaces:
    """Where each charger of the site is: by charge point id, the charger's id
    (as users' allowed chargers name it) and its power group; each group's
    parent."""

    chargers: Mapping[str, tuple[str, str | None]] = field(default_factory=dict)
    parents: Mapping[str, str | None] = field(default_factory=dict)

    def place(self, station_id: str, connector: int) -> Place:
        """The place of a station's connector (a charger the site does not
        know is only its charge point id, under no group)."""
        charger, group = self.chargers.get(station_id, (station_id, None))
        return Place(charger, connector, group_chain(group, self.parents))


def list_digest(access: AccessList) -> str:
    """What the chargers' local lists are made of (tokens and where each user
    may charge): when it changes, the site's list version goes up."""
    content = [
        [user.id, sorted(user.tokens), sorted(user.allowed)]
        for user in access.users
        if user.tokens
    ]
    return hashlib.sha256(json.dumps(content).encode()).hexdigest()


class OcppAccess:
    """Answers the id tokens of a site's chargers, from its users."""

    def __init__(
        self,
        access: AccessList | None = None,
        places: SitePlaces | None = None,
        *,
        version: int = 0,
        month_kwh: Callable[[str], float] = lambda _user_id: 0.0,
        on_refused: RefusedCallback = lambda _station, _connector, _decision: None,
    ) -> None:
        """``version``: of the site's local lists (> 0; 0: none is sent);
        ``month_kwh(user id)``: what a user charged this month (their cap)."""
        self.access = access or AccessList()
        self.places = places or SitePlaces()
        self.version = version
        self._month_kwh = month_kwh
        self._on_refused = on_refused

    def update(self, access: AccessList, places: SitePlaces, version: int) -> bool:
        """New users (or chargers, or groups); True if the local lists changed."""
        before = self.version
        self.access, self.places, self.version = access, places, version
        return version != before

    def authorize(
        self, station_id: str, connector_id: int, id_token: object
    ) -> TokenAnswer:
        """The answer to a token at a station's connector."""
        decision = self.decide(station_id, connector_id, id_token)
        if not decision.accepted:
            self._on_refused(station_id, connector_id, decision)
        return TokenAnswer(decision.status.value, decision.user_id)

    def decide(self, station_id: str, connector_id: int, id_token: object) -> Decision:
        """The decision on a token at a station's connector."""
        place = self.places.place(station_id, connector_id)
        return decide(self.access, id_token, place, self._month_kwh)

    def local_list(self, station_id: str) -> LocalList | None:
        """The tokens of the users allowed at a station; none for a site
        without a list version, or an open one without users (a home: its
        chargers' lists are left alone)."""
        if self.version <= 0 or (
            self.access.mode is AccessMode.OPEN and not self.access.users
        ):
            return None
        place = self.places.place(station_id, 0)
        entries = {t: s.value for t, s in local_list(self.access, place).items()}
        return LocalList(self.version, entries)

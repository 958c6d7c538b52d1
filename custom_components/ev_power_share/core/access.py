"""Who may charge: the site's users, their id tokens, and the answer to a card.

No Home Assistant imports. A *user* has one or more id tokens (an RFID card's
uid in hex, or any OCPP id token), may be limited to some chargers or power
groups and to a monthly energy cap, and is billed by a tariff plan (an id that
billing knows). The site's *access mode* says what an unknown token may do:

* ``open`` (a home): anyone may charge; a known token is still booked to its
  user (and held to that user's chargers and cap);
* ``authorised`` (a condo): only the users' tokens.

Tokens are normalised where they enter (:func:`normalise_token`): the same card
read by two chargers, or typed by the board with colons, is one token. The
answer (:func:`decide`) is one of OCPP's authorisation statuses, with the user
it belongs to and why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
import re

MAX_TOKEN_LENGTH = 36
"""OCPP 2.0.1's IdToken is at most 36 characters (1.6's idTag 20)."""
_HEX_PAIRS = re.compile(r"[0-9A-F]{2}(?:[:\- ][0-9A-F]{2})+")
"""An RFID uid written in separated byte pairs (``04:a2:1f:9c``)."""
_SEPARATORS = re.compile(r"[:\- ]")


class AccessMode(StrEnum):
    """What an unknown token may do at this site."""

    OPEN = "open"
    AUTHORISED = "authorised"


class AccessSetting(StrEnum):
    """The site's access option, as the user picks it."""

    OPEN = "open"
    AUTHORISED = "authorised"
    AUTO = "auto"
    """Open while the site has no users; authorised once it has one (what a new
    site starts with: a home without users keeps charging any card, a condo
    is closed to strangers from its first resident on)."""


def site_mode(setting: object, has_users: bool) -> AccessMode:
    """The access mode of a site's setting (a site from before the setting
    existed has none: open, as it always was; an unreadable one: authorised,
    the safe side)."""
    if setting is None:
        return AccessMode.OPEN
    try:
        chosen = AccessSetting(str(setting))
    except ValueError:
        return AccessMode.AUTHORISED
    if chosen is AccessSetting.AUTO:
        return AccessMode.AUTHORISED if has_users else AccessMode.OPEN
    return AccessMode(chosen.value)


class AuthStatus(StrEnum):
    """An id token's status, as OCPP 1.6 and 2.0.1 both spell it."""

    ACCEPTED = "Accepted"
    INVALID = "Invalid"
    """Unknown (or unreadable): not allowed to charge."""
    BLOCKED = "Blocked"
    """Known, but not allowed here or now (its charger, its cap)."""
    EXPIRED = "Expired"


class Reason(StrEnum):
    """Why a token got its status."""

    USER = "user"
    """One of the users' tokens, allowed here."""
    OPEN_SITE = "open_site"
    """Unknown, and the site is open to anyone."""
    UNKNOWN = "unknown"
    """Unknown, and only the users' tokens may charge."""
    MALFORMED = "malformed"
    NOT_HERE = "not_here"
    """The user may not use this charger (nor any group it hangs under)."""
    CAP_REACHED = "cap_reached"
    """The user charged their monthly cap already."""


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """A token as it entered: its normal form, or why it cannot be one."""

    token: str | None
    problem: str | None = None


def check_token(raw: object) -> TokenCheck:
    """The normal form of an id token: trimmed, upper case (OCPP compares them
    case-insensitively), a uid in separated hex pairs without its separators;
    or what is wrong with it (not a string, empty, too long, not printable
    ASCII or with spaces inside)."""
    if not isinstance(raw, str):
        return TokenCheck(None, "not a string")
    if len(raw) > 4 * MAX_TOKEN_LENGTH:
        return TokenCheck(None, f"longer than {MAX_TOKEN_LENGTH} characters")
    text = raw.strip().upper()
    if _HEX_PAIRS.fullmatch(text):
        text = _SEPARATORS.sub("", text)
    if not text:
        return TokenCheck(None, "empty")
    if len(text) > MAX_TOKEN_LENGTH:
        return TokenCheck(None, f"longer than {MAX_TOKEN_LENGTH} characters")
    if not all("!" <= c <= "~" for c in text):
        return TokenCheck(None, "not printable ASCII without spaces")
    return TokenCheck(text)


def normalise_token(raw: object) -> str | None:
    """The normal form of an id token, or None if it cannot be one."""
    return check_token(raw).token


@dataclass(frozen=True, slots=True)
class User:
    """Someone who may charge at the site."""

    id: str
    """Stable (the user's subentry id)."""
    name: str
    tokens: tuple[str, ...] = ()
    """Normalised (see :func:`normalise_token`)."""
    person: str | None = None
    """A Home Assistant person entity id, if linked."""
    tariff: str | None = None
    """The tariff plan they are billed by (its id), if any."""
    priority: int | None = None
    """Their priority tier, if any."""
    monthly_cap_kwh: float | None = None
    """At most this much energy a calendar month; None: no cap."""
    allowed: frozenset[str] = frozenset()
    """The chargers and power groups they may use (ids); empty: all."""


@dataclass(frozen=True, slots=True)
class Place:
    """Where a token is presented: a charger's connector (0: the charger as a
    whole, as in an Authorize before a connector is chosen) and the power
    groups it hangs under, innermost first."""

    charger: str
    connector: int = 0
    groups: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to a token."""

    status: AuthStatus
    reason: Reason
    user_id: str | None = None
    token: str | None = None
    """Its normal form (None: malformed)."""
    detail: str = ""
    """What was malformed, for the log."""

    @property
    def accepted(self) -> bool:
        """Whether it may charge."""
        return self.status is AuthStatus.ACCEPTED


@dataclass(frozen=True, slots=True)
class AccessList:
    """The users of a site and its access mode; looks a token up.

    A token two users claim is the first one's, by user id (flows refuse that;
    see :func:`token_owners`)."""

    users: tuple[User, ...] = ()
    mode: AccessMode = AccessMode.OPEN
    _owners: dict[str, User] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.users, key=lambda u: u.id))
        owners: dict[str, User] = {}
        for user in ordered:
            for token in user.tokens:
                owners.setdefault(token, user)
        object.__setattr__(self, "users", ordered)
        object.__setattr__(self, "_owners", owners)

    def owner(self, token: str) -> User | None:
        """The user a (normalised) token belongs to."""
        return self._owners.get(token)

    def user(self, user_id: str) -> User | None:
        """A user by id."""
        return next((u for u in self.users if u.id == user_id), None)


def allowed_at(user: User, place: Place) -> bool:
    """Whether a user may charge at a place: anywhere if they are not limited,
    else at an allowed charger or under an allowed group."""
    if not user.allowed:
        return True
    return place.charger in user.allowed or any(g in user.allowed for g in place.groups)


def decide(
    access: AccessList,
    raw_token: object,
    place: Place,
    month_kwh: Callable[[str], float] = lambda _user_id: 0.0,
) -> Decision:
    """Whether a token may charge at a place; ``month_kwh(user id)``: what that
    user charged this calendar month (kWh), held to their cap."""
    checked = check_token(raw_token)
    if checked.token is None:
        return Decision(
            AuthStatus.INVALID, Reason.MALFORMED, detail=checked.problem or ""
        )
    token = checked.token
    user = access.owner(token)
    if user is None:
        if access.mode is AccessMode.OPEN:
            return Decision(AuthStatus.ACCEPTED, Reason.OPEN_SITE, token=token)
        return Decision(AuthStatus.INVALID, Reason.UNKNOWN, token=token)
    if not allowed_at(user, place):
        return Decision(AuthStatus.BLOCKED, Reason.NOT_HERE, user.id, token)
    cap = user.monthly_cap_kwh
    if cap is not None and month_kwh(user.id) >= cap:
        return Decision(AuthStatus.BLOCKED, Reason.CAP_REACHED, user.id, token)
    return Decision(AuthStatus.ACCEPTED, Reason.USER, user.id, token)


def local_list(access: AccessList, place: Place) -> dict[str, AuthStatus]:
    """The tokens a charger may accept on its own while it cannot ask us (its
    local authorisation list): those of the users allowed there. Caps are not
    in it (a charger cannot count a month); an open site needs no list for
    strangers (the charger's offline policy decides)."""
    return {
        token: AuthStatus.ACCEPTED
        for user in access.users
        if allowed_at(user, place)
        for token in user.tokens
        if access.owner(token) is user
    }


def token_owners(users: Iterable[User]) -> dict[str, list[str]]:
    """Each token and the users (ids) that claim it; more than one is a clash."""
    owners: dict[str, list[str]] = {}
    for user in users:
        for token in user.tokens:
            owners.setdefault(token, []).append(user.id)
    return owners

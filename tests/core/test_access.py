"""Who may charge: tokens, users, the site's access mode, the local list."""

from __future__ import annotations

from hypothesis import given, strategies as st
import pytest

from custom_components.ev_power_share.core.access import (
    MAX_TOKEN_LENGTH,
    AccessList,
    AccessMode,
    AccessSetting,
    AuthStatus,
    Place,
    Reason,
    User,
    allowed_at,
    check_token,
    decide,
    local_list,
    normalise_token,
    site_mode,
    token_owners,
)

ALICE = User("u-alice", "Alice", ("04A21F9C",), monthly_cap_kwh=100.0)
BOB = User("u-bob", "Bob", ("B0B", "0A0B0C"), allowed=frozenset({"garage"}))
SPACE_3 = Place("charger-3", 1, ("garage", "site"))
STREET = Place("charger-street", 1, ("street", "site"))


@pytest.mark.parametrize(
    ("raw", "token"),
    [
        ("04a21f9c", "04A21F9C"),
        ("  04A21F9C\n", "04A21F9C"),
        ("04:a2:1f:9c", "04A21F9C"),
        ("04-A2-1F-9C", "04A21F9C"),
        ("04 a2 1f 9c", "04A21F9C"),
        ("NL-TNM-C12345678-X", "NL-TNM-C12345678-X"),
        ("x" * MAX_TOKEN_LENGTH, "X" * MAX_TOKEN_LENGTH),
    ],
)
def test_tokens_are_normalised(raw: str, token: str) -> None:
    assert check_token(raw).token == token
    assert check_token(raw).problem is None


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (None, "not a string"),
        (1234, "not a string"),
        (b"04A2", "not a string"),
        (["04A2"], "not a string"),
        ("", "empty"),
        ("   ", "empty"),
        ("x" * (MAX_TOKEN_LENGTH + 1), "longer than 36 characters"),
        ("x" * 1_000_000, "longer than 36 characters"),
        ("two words", "not printable ASCII without spaces"),
        ("Ünïcode", "not printable ASCII without spaces"),
        ("tab\there", "not printable ASCII without spaces"),
    ],
)
def test_bad_tokens_are_refused_with_a_reason(raw: object, problem: str) -> None:
    checked = check_token(raw)
    assert checked.token is None
    assert checked.problem == problem
    decision = decide(AccessList((ALICE,), AccessMode.OPEN), raw, SPACE_3)
    assert decision.status is AuthStatus.INVALID
    assert decision.reason is Reason.MALFORMED
    assert decision.detail == problem


def test_authorised_site_answers_from_its_users() -> None:
    access = AccessList((ALICE, BOB), AccessMode.AUTHORISED)
    alice = decide(access, "04:a2:1f:9c", SPACE_3)
    assert (alice.status, alice.reason, alice.user_id) == (
        AuthStatus.ACCEPTED,
        Reason.USER,
        "u-alice",
    )
    assert alice.accepted
    stranger = decide(access, "DEADBEEF", SPACE_3)
    assert (stranger.status, stranger.reason, stranger.user_id) == (
        AuthStatus.INVALID,
        Reason.UNKNOWN,
        None,
    )
    assert stranger.token == "DEADBEEF"  # noqa: S105 (a card, not a password)
    assert not stranger.accepted


def test_open_site_lets_strangers_charge_and_books_known_cards() -> None:
    access = AccessList((ALICE, BOB), AccessMode.OPEN)
    stranger = decide(access, "deadbeef", STREET)
    assert (stranger.status, stranger.reason, stranger.user_id) == (
        AuthStatus.ACCEPTED,
        Reason.OPEN_SITE,
        None,
    )
    assert decide(access, "04A21F9C", STREET).user_id == "u-alice"
    # A known card is still held to its user's chargers, even on an open site.
    bob = decide(access, "b0b", STREET)
    assert (bob.status, bob.reason, bob.user_id) == (
        AuthStatus.BLOCKED,
        Reason.NOT_HERE,
        "u-bob",
    )


def test_users_are_held_to_their_chargers_and_groups() -> None:
    access = AccessList((BOB,), AccessMode.AUTHORISED)
    assert decide(access, "B0B", SPACE_3).accepted  # under the garage group
    assert not decide(access, "B0B", STREET).accepted
    by_charger = User("u-c", "C", ("CC",), allowed=frozenset({"charger-street"}))
    assert allowed_at(by_charger, STREET)
    assert not allowed_at(by_charger, SPACE_3)
    assert allowed_at(ALICE, STREET)  # no limit: everywhere


def test_monthly_cap() -> None:
    access = AccessList((ALICE,), AccessMode.AUTHORISED)
    used = {"u-alice": 99.9}
    assert decide(access, "04A21F9C", SPACE_3, used.__getitem__).accepted
    used["u-alice"] = 100.0
    capped = decide(access, "04A21F9C", SPACE_3, used.__getitem__)
    assert (capped.status, capped.reason) == (AuthStatus.BLOCKED, Reason.CAP_REACHED)


def test_a_token_two_users_claim_is_the_first_ones() -> None:
    zed = User("u-zed", "Zed", ("04A21F9C",))
    access = AccessList((zed, ALICE))
    assert [u.id for u in access.users] == ["u-alice", "u-zed"]
    assert access.owner("04A21F9C") is ALICE
    assert token_owners((zed, ALICE)) == {"04A21F9C": ["u-zed", "u-alice"]}
    assert local_list(access, SPACE_3) == {"04A21F9C": AuthStatus.ACCEPTED}
    assert access.user("u-zed") is zed
    assert access.user("u-nobody") is None


def test_local_list_holds_the_tokens_allowed_at_a_charger() -> None:
    access = AccessList((ALICE, BOB), AccessMode.AUTHORISED)
    assert local_list(access, SPACE_3) == {
        "04A21F9C": AuthStatus.ACCEPTED,
        "B0B": AuthStatus.ACCEPTED,
        "0A0B0C": AuthStatus.ACCEPTED,
    }
    assert local_list(access, STREET) == {"04A21F9C": AuthStatus.ACCEPTED}


@pytest.mark.parametrize(
    ("setting", "has_users", "mode"),
    [
        (None, True, AccessMode.OPEN),  # a site from before: as it was
        (None, False, AccessMode.OPEN),
        ("open", True, AccessMode.OPEN),
        ("authorised", False, AccessMode.AUTHORISED),
        (AccessSetting.AUTO, False, AccessMode.OPEN),
        (AccessSetting.AUTO, True, AccessMode.AUTHORISED),
        ("garbage", False, AccessMode.AUTHORISED),
        (42, True, AccessMode.AUTHORISED),
    ],
)
def test_site_mode(setting: object, has_users: bool, mode: AccessMode) -> None:
    assert site_mode(setting, has_users) is mode


# --- properties ---------------------------------------------------------------

anything = st.one_of(
    st.text(max_size=80),
    st.binary(max_size=10),
    st.integers(),
    st.none(),
    st.floats(),
    st.lists(st.text(max_size=5), max_size=3),
)
hex_uids = st.binary(min_size=4, max_size=10).map(bytes.hex)
token_text = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E),
    min_size=1,
    max_size=MAX_TOKEN_LENGTH,
)


@st.composite
def users(draw: st.DrawFn) -> tuple[User, ...]:
    count = draw(st.integers(0, 4))
    groups = st.frozensets(st.sampled_from(["garage", "street", "charger-3"]))
    return tuple(
        User(
            f"u-{i}",
            f"User {i}",
            tuple(
                token
                for raw in draw(st.lists(st.one_of(hex_uids, token_text), max_size=3))
                if (token := normalise_token(raw)) is not None
            ),
            allowed=draw(groups),
            monthly_cap_kwh=draw(st.none() | st.floats(0, 500)),
        )
        for i in range(count)
    )


@given(anything)
def test_any_input_is_a_token_or_a_reason(raw: object) -> None:
    checked = check_token(raw)
    assert (checked.token is None) != (checked.problem is None)
    if checked.token is not None:
        assert 1 <= len(checked.token) <= MAX_TOKEN_LENGTH
        assert checked.token == checked.token.upper().strip()
        assert normalise_token(checked.token) == checked.token  # idempotent


@given(hex_uids)
def test_a_uid_is_one_token_however_it_is_written(uid: str) -> None:
    pairs = [uid[i : i + 2] for i in range(0, len(uid), 2)]
    forms = {uid.lower(), uid.upper(), ":".join(pairs), "-".join(pairs).upper()}
    assert {normalise_token(f) for f in forms} == {uid.upper()}


@given(users(), anything | token_text, st.sampled_from([SPACE_3, STREET]))
def test_authorised_site_accepts_only_its_users_tokens(
    people: tuple[User, ...], raw: object, place: Place
) -> None:
    access = AccessList(people, AccessMode.AUTHORISED)
    decision = decide(access, raw, place)
    if decision.accepted:
        user = access.user(decision.user_id or "")
        assert user is not None
        assert decision.token in user.tokens
        assert allowed_at(user, place)
    open_decision = decide(AccessList(people, AccessMode.OPEN), raw, place)
    if decision.user_id is not None:  # a known token: the mode does not matter
        assert open_decision == decision
    elif decision.token is not None:  # unknown, well-formed: open lets it in
        assert open_decision.accepted
        assert open_decision.user_id is None


@given(users(), st.sampled_from([SPACE_3, STREET]))
def test_local_list_is_what_the_site_would_accept_under_no_cap(
    people: tuple[User, ...], place: Place
) -> None:
    access = AccessList(people, AccessMode.AUTHORISED)
    listed = local_list(access, place)
    for token in listed:
        assert decide(access, token, place).reason in (
            Reason.USER,
            Reason.CAP_REACHED,
        )
    for user in access.users:
        for token in user.tokens:
            if access.owner(token) is user and allowed_at(user, place):
                assert token in listed

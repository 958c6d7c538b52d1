"""Local lists and answers without a network: a differential update turns the
list a charger holds into the one wanted; odd answers are made safe."""

from __future__ import annotations

from hypothesis import given, strategies as st

from custom_components.ev_power_share.csms import TokenAnswer, TxKind
from custom_components.ev_power_share.csms.id_tokens import list_changes, screened
from custom_components.ev_power_share.csms.tx_messages import (
    LATE_S,
    message,
    samples_of,
)
from simulator.local_list import LocalAuthList

tokens = st.text(alphabet="0123456789ABCDEF", min_size=2, max_size=8)
lists = st.dictionaries(tokens, st.sampled_from(["Accepted", "Blocked"]), max_size=8)


@given(lists, lists)
def test_a_differential_update_makes_the_wanted_list(
    sent: dict[str, str], wanted: dict[str, str]
) -> None:
    charger = LocalAuthList()
    assert charger.update(1, "Full", sent.items()) == "Accepted"
    changes = list_changes(sent, wanted)
    assert charger.update(2, "Differential", changes.items()) == "Accepted"
    assert charger.entries == wanted
    assert not list_changes(wanted, wanted)
    # An update that is not newer is refused, and changes nothing.
    assert charger.update(2, "Differential", {"FF": "Accepted"}.items()) == (
        "VersionMismatch"
    )
    assert charger.entries == wanted


def test_answers_are_screened() -> None:
    assert screened(TokenAnswer("Blocked", "u-1")) == TokenAnswer("Blocked", "u-1")
    assert screened(TokenAnswer("NoCredit")) == TokenAnswer("Invalid")
    assert screened("Accepted") == TokenAnswer("Invalid")
    assert screened(None) == TokenAnswer("Invalid")


def test_a_late_message_is_offline() -> None:
    on_time = message(TxKind.STARTED, "cp", 1, "1", "2999-01-01T00:00:00Z")
    assert not on_time.offline
    late = message(TxKind.STARTED, "cp", 1, "1", "2020-01-01T00:00:00Z")
    assert late.offline
    assert late.received_at - late.at > LATE_S
    flagged = message(
        TxKind.STARTED, "cp", 1, "1", "2020-01-01T00:00:00Z", offline=False
    )
    assert not flagged.offline  # 2.0.1 says so itself
    unreadable = message(TxKind.ENDED, "cp", 1, "1", "yesterday")
    assert unreadable.at == unreadable.received_at
    assert not unreadable.offline


def test_samples_keep_their_own_times_and_skip_garbage() -> None:
    samples = samples_of(
        [
            {
                "timestamp": "2026-03-31T21:30:00Z",
                "sampled_value": [{"value": "1500", "unit": "Wh"}],
            },
            {"timestamp": "2026-03-31T21:31:00Z", "sampled_value": "garbage"},
            "garbage",
            {
                "timestamp": "2026-03-31T21:32:00Z",
                "sampled_value": [
                    {"value": "7000", "measurand": "Power.Active.Import", "unit": "W"}
                ],
            },
        ]
    )
    assert [(s.wh, s.w) for s in samples] == [(1500.0, None), (None, 7000.0)]
    assert samples[1].at - samples[0].at == 120.0
    assert samples_of("garbage") == ()

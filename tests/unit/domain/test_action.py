"""The Action state machine, its content hash and edits; plus the canonical JSON it hashes."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from typing import Any

import pytest

from mios.domain.action import Action, ActionState, Transition, idempotency_key_for
from mios.domain.canonical import canonical_hash, canonical_json
from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.domain.proposal import ActionKind, Audience, Content, Proposal
from mios.errors import DomainError, IllegalTransition

S = ActionState
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)
#: The content hash of ``action()``, fixed: if it moves, every stored approval stops matching.
EXPECTED_HASH = "37249998f6871582dabbf7e73a02b1dcb466b5308ef3fe82906f7a74faec0a35"

#: Written out rather than imported, so this test pins the design instead of echoing the code.
LEGAL = {
    (S.PROPOSED, S.DECIDED),
    (S.DECIDED, S.BLOCKED),
    (S.DECIDED, S.AWAITING_APPROVAL),
    (S.DECIDED, S.APPROVED),
    (S.AWAITING_APPROVAL, S.APPROVED),
    (S.AWAITING_APPROVAL, S.BLOCKED),
    (S.APPROVED, S.EXECUTING),
    (S.EXECUTING, S.EXECUTED),
    (S.EXECUTING, S.FAILED),
    (S.FAILED, S.EXECUTING),
    (S.EXECUTED, S.MEASURED),
}

#: The public method that moves an action into each state. Nothing moves back to ``proposed``,
#: so that edge is driven through the one private gate every method uses.
DRIVE: dict[ActionState, Callable[[Action], None]] = {
    S.PROPOSED: lambda a: a._move(S.PROPOSED, T1, "someone"),
    S.DECIDED: lambda a: a.decide(T1, "brain"),
    S.BLOCKED: lambda a: a.block(T1, "governance", "claim c9 is not approved"),
    S.AWAITING_APPROVAL: lambda a: a.await_approval(T1, "governance"),
    S.APPROVED: lambda a: a.approve(T1, by="ana"),
    S.EXECUTING: lambda a: a.start(T1),
    S.EXECUTED: lambda a: a.succeed(T1),
    S.FAILED: lambda a: a.fail(T1, "SMTP 451"),
    S.MEASURED: lambda a: a.measure(T1),
}


def action(**overrides: Any) -> Action:
    fields: dict[str, Any] = {
        "id": "a1",
        "proposal_id": "p1",
        "kind": ActionKind.SEND_MESSAGE,
        "snapshot_version": 3,
        "channel": ChannelName.EMAIL,
        "audience": Audience(segment_id="lapsed"),
        "content": Content(subject="We miss you", body="Come back for 10% off.", claims=("c1",)),
        "spend": Money(Decimal("120.00"), "EUR"),
        "parameters": {"send_hour": 9, "variant": "b"},
    }
    fields.update(overrides)
    return Action(**fields)


class TestStateMachine:
    def test_the_legal_edges_are_the_design(self) -> None:
        assert len(LEGAL) == 11

    @pytest.mark.parametrize(("start", "to"), list(itertools.product(S, S)))
    def test_every_pair_of_states(self, start: ActionState, to: ActionState) -> None:
        moving = action(state=start)
        if (start, to) in LEGAL:
            DRIVE[to](moving)
            assert moving.state is to
            assert moving.history[-1].from_state is start
            assert moving.history[-1].to_state is to
            assert moving.history[-1].at == T1
        else:
            with pytest.raises(IllegalTransition) as caught:
                DRIVE[to](moving)
            assert f"from {start} to {to}" in str(caught.value)
            assert moving.state is start
            assert moving.history == []

    @pytest.mark.parametrize("state", list(S))
    def test_only_blocked_and_measured_are_terminal(self, state: ActionState) -> None:
        assert action(state=state).is_terminal == (state in {S.BLOCKED, S.MEASURED})

    def test_a_full_life_is_recorded_in_order(self) -> None:
        life = action()
        life.decide(T0, "brain")
        life.await_approval(T0, "governance")
        life.approve(T0, by="ana")
        life.start(T0)
        life.succeed(T0)
        life.measure(T0)
        assert [t.to_state for t in life.history] == [
            S.DECIDED,
            S.AWAITING_APPROVAL,
            S.APPROVED,
            S.EXECUTING,
            S.EXECUTED,
            S.MEASURED,
        ]
        assert life.history[2].actor == "ana"
        assert life.is_terminal

    def test_a_retry_keeps_the_idempotency_key_and_counts_attempts(self) -> None:
        retried = action(state=S.APPROVED)
        key = retried.idempotency_key
        retried.start(T0)
        retried.fail(T0, "timeout")
        retried.start(T1)
        retried.succeed(T1)
        assert retried.attempts == 2
        assert retried.idempotency_key == key
        assert retried.history[1].reason == "timeout"

    def test_blocking_needs_a_reason(self) -> None:
        with pytest.raises(DomainError, match="reason"):
            action(state=S.DECIDED).block(T0, "governance", " ")

    def test_failing_needs_a_reason(self) -> None:
        with pytest.raises(DomainError, match="reason"):
            action(state=S.EXECUTING).fail(T0, "")

    def test_a_transition_needs_an_actor(self) -> None:
        with pytest.raises(DomainError, match="actor"):
            action().decide(T0, "")

    def test_a_naive_time_is_refused_and_nothing_moves(self) -> None:
        moving = action()
        with pytest.raises(DomainError, match="timezone-aware"):
            moving.decide(datetime(2025, 3, 1), "brain")
        assert moving.state is S.PROPOSED
        assert moving.history == []


class TestValidation:
    def test_id_is_required(self) -> None:
        with pytest.raises(DomainError, match="needs an id"):
            action(id="")

    def test_proposal_id_is_required(self) -> None:
        with pytest.raises(DomainError, match="proposal id"):
            action(proposal_id=" ")

    def test_snapshot_version_starts_at_one(self) -> None:
        with pytest.raises(DomainError, match="snapshot version"):
            action(snapshot_version=0)

    def test_version_starts_at_one(self) -> None:
        with pytest.raises(DomainError, match="version must be >= 1"):
            action(version=0)

    def test_an_action_is_as_complete_as_a_proposal_must_be(self) -> None:
        with pytest.raises(DomainError, match="send_message needs content"):
            action(content=None)

    def test_negative_spend_is_refused(self) -> None:
        with pytest.raises(DomainError, match="spend must be >= 0"):
            action(spend=Money(Decimal("-5"), "EUR"))

    def test_identity_is_the_id(self) -> None:
        assert action() == action(parameters={"other": True})
        assert action() != action(id="a2")
        assert len({action(), action()}) == 1

    def test_a_given_idempotency_key_is_kept(self) -> None:
        assert action(idempotency_key="k-1").idempotency_key == "k-1"

    def test_the_derived_key_names_the_id_and_content(self) -> None:
        made = action()
        assert made.idempotency_key == idempotency_key_for("a1", made.content_hash())
        assert made.idempotency_key.startswith("a1:")

    def test_from_proposal_carries_what_was_asked(self) -> None:
        asked = Proposal(
            id="p9",
            agent_id="ads",
            kind=ActionKind.ADJUST_BID,
            snapshot_version=4,
            rationale="cpc fell",
            created_at=T0,
            channel=ChannelName.PAID_SEARCH,
            parameters={"bid": 1.2},
        )
        made = Action.from_proposal(asked, "a9")
        assert (made.id, made.proposal_id, made.kind) == ("a9", "p9", ActionKind.ADJUST_BID)
        assert made.snapshot_version == 4
        assert made.parameters == {"bid": 1.2}
        assert made.state is S.PROPOSED

    def test_transition_times_must_be_aware(self) -> None:
        with pytest.raises(DomainError, match="transition time"):
            Transition(S.PROPOSED, S.DECIDED, datetime(2025, 1, 1), "brain")


class TestContentHash:
    def test_it_is_stable_across_runs(self) -> None:
        assert action().content_hash() == EXPECTED_HASH

    def test_it_does_not_depend_on_dict_order_or_how_an_amount_is_written(self) -> None:
        one = action(
            parameters={"send_hour": 9, "variant": "b"}, spend=Money(Decimal("120"), "EUR")
        )
        two = action(parameters={"variant": "b", "send_hour": 9})
        assert one.content_hash() == two.content_hash()

    def test_it_ignores_lifecycle_state(self) -> None:
        moved = action()
        moved.decide(T0, "brain")
        assert moved.content_hash() == action().content_hash()

    @pytest.mark.parametrize(
        "change",
        [
            {"kind": ActionKind.PUBLISH_CONTENT},
            {"channel": ChannelName.SMS},
            {"audience": Audience(segment_id="vip")},
            {"content": Content(subject="We miss you", body="Come back for 15% off.")},
            {"spend": Money(Decimal("120.01"), "EUR")},
            {"spend": Money(Decimal("120.00"), "USD")},
            {"parameters": {"send_hour": 10, "variant": "b"}},
            {"version": 2},
        ],
    )
    def test_it_changes_when_anything_executable_changes(self, change: dict[str, Any]) -> None:
        assert action(**change).content_hash() != action().content_hash()

    @pytest.mark.parametrize(
        "edit",
        [
            {"content": Content(subject="Still here?", body="Come back for 10% off.")},
            {"audience": Audience(customer_ids=("c1", "c2"))},
            {"spend": Money(Decimal("80"), "EUR")},
            {"parameters": {"send_hour": 18}},
        ],
    )
    def test_every_edit_makes_a_new_version_with_a_new_hash(self, edit: dict[str, Any]) -> None:
        original = action(state=S.AWAITING_APPROVAL)
        new = original.edited(at=T1, by="ana", **edit)
        assert new.content_hash() != original.content_hash()
        assert new.idempotency_key != original.idempotency_key
        assert (new.id, new.version, new.state) == ("a1", 2, S.DECIDED)
        assert getattr(new, next(iter(edit))) == next(iter(edit.values()))
        assert new.history[-1].reason == "edited to version 2"
        assert new.history[-1].actor == "ana"
        assert (original.version, original.state, original.history) == (
            1,
            S.AWAITING_APPROVAL,
            [],
        )

    def test_a_proposed_action_stays_proposed_after_an_edit(self) -> None:
        assert action().edited(at=T1, by="ana", spend=Money(Decimal(1), "EUR")).state is S.PROPOSED

    def test_an_edit_must_change_something(self) -> None:
        with pytest.raises(DomainError, match="change something"):
            action(state=S.DECIDED).edited(at=T1, by="ana")

    def test_even_identical_content_gets_a_new_hash_because_the_version_moves(self) -> None:
        original = action(state=S.DECIDED)
        same = original.edited(at=T1, by="ana", parameters=dict(original.parameters))
        assert same.content_hash() != original.content_hash()

    @pytest.mark.parametrize("state", [S.EXECUTING, S.EXECUTED, S.FAILED, S.MEASURED])
    def test_no_edit_once_anything_may_have_reached_a_channel(self, state: ActionState) -> None:
        with pytest.raises(DomainError, match=f"cannot edit once {state}"):
            action(state=state).edited(at=T1, by="ana", spend=Money(Decimal(1), "EUR"))

    def test_an_edited_version_is_still_validated(self) -> None:
        with pytest.raises(DomainError, match="spend must be >= 0"):
            action().edited(at=T1, by="ana", spend=Money(Decimal(-1), "EUR"))


class Colour(StrEnum):
    RED = "red"


class TestCanonicalJson:
    def test_keys_are_sorted_and_separators_compact(self) -> None:
        assert canonical_json({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'

    def test_decimals_are_their_shortest_plain_string(self) -> None:
        assert canonical_json([Decimal("10.00"), Decimal("1E+2"), Decimal("-0.0")]) == (
            '["10","100","0"]'
        )

    def test_datetimes_are_utc_iso(self) -> None:
        paris = timezone(timedelta(hours=1))
        assert canonical_json(datetime(2025, 1, 1, 1, 0, tzinfo=paris)) == (
            '"2025-01-01T00:00:00+00:00"'
        )
        assert canonical_json(date(2025, 1, 2)) == '"2025-01-02"'

    def test_enums_tuples_and_sets(self) -> None:
        assert canonical_json({Colour.RED: (Colour.RED, None)}) == '{"red":["red",null]}'
        assert canonical_json(frozenset({"b", "a"})) == '["a","b"]'

    def test_dataclasses_are_objects_of_their_fields(self) -> None:
        assert canonical_json(Money(Decimal("1.50"), "EUR")) == '{"amount":"1.5","currency":"EUR"}'

    @pytest.mark.parametrize(
        "bad",
        [
            datetime(2025, 1, 1),
            float("nan"),
            Decimal("Infinity"),
            {1: "int key"},
            object(),
        ],
    )
    def test_what_cannot_be_encoded_the_same_way_twice_is_refused(self, bad: object) -> None:
        with pytest.raises(DomainError):
            canonical_json(bad)

    def test_canonical_hash_is_sha256_hex(self) -> None:
        digest = canonical_hash({"a": 1})
        assert len(digest) == 64
        assert digest == canonical_hash({"a": 1})
        assert digest != canonical_hash({"a": 2})

"""Segment rules: one boolean mask over a whole CustomerTable, checked against a per-record
reference evaluator."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mios.domain.channel import CONSENT_CHANNELS, ChannelName
from mios.domain.customer import Consent, ConsentStatus, Customer, LawfulBasis
from mios.domain.customer_table import CustomerTable
from mios.domain.segment import AllOf, AnyOf, Condition, Not, Operator, Rule, Segment
from mios.errors import DomainError

Op = Operator
GRANTED = Consent(ConsentStatus.GRANTED, LawfulBasis.CONSENT, datetime(2024, 1, 1, tzinfo=UTC))
DENIED = Consent(ConsentStatus.DENIED)


def person(customer_id: str, **overrides: Any) -> Customer:
    fields: dict[str, Any] = {
        "id": customer_id,
        "region": "EU",
        "country": "DE",
        "time_zone": "UTC",
    }
    fields.update(overrides)
    return Customer(**fields)


# A: EU, ltv 100, gold, email granted     B: US, ltv 50, silver, suppressed, email denied
# C: EU, no ltv, no tier                  D: CA, ltv 0, gold, sms granted
TABLE = CustomerTable.from_customers(
    [
        person("A", attributes={"ltv": 100.0, "tier": "gold"}, consent={"email": GRANTED}),
        person(
            "B",
            region="US",
            country="US",
            time_zone="America/New_York",
            attributes={"ltv": 50.0, "tier": "silver"},
            consent={"email": DENIED},
            suppressed=True,
            suppression_reason="hard_bounce",
        ),
        person("C"),
        person(
            "D",
            region="CA",
            country="CA",
            attributes={"ltv": 0, "tier": "gold"},
            consent={"sms": GRANTED},
        ),
    ]
)


def hits(rule: Rule) -> list[str]:
    return [str(i) for i in TABLE.ids[rule.mask(TABLE)]]


class TestNumeric:
    @pytest.mark.parametrize(
        ("op", "value", "expected"),
        [
            (Op.EQ, 50, ["B"]),
            (Op.EQ, 50.0, ["B"]),
            (Op.EQ, 51, []),
            (Op.NE, 50, ["A", "D"]),
            (Op.IN, (0, 100), ["A", "D"]),
            (Op.IN, (7,), []),
            (Op.NOT_IN, (0, 100), ["B"]),
            (Op.GT, 50, ["A"]),
            (Op.GTE, 50, ["A", "B"]),
            (Op.LT, 50, ["D"]),
            (Op.LTE, 50, ["B", "D"]),
            (Op.GT, -1e9, ["A", "B", "D"]),
            (Op.LT, 1e9, ["A", "B", "D"]),
            (Op.EXISTS, None, ["A", "B", "D"]),
        ],
    )
    def test_each_operator(self, op: Operator, value: Any, expected: list[str]) -> None:
        assert hits(Condition("ltv", op, value)) == expected

    @pytest.mark.parametrize("op", [Op.GT, Op.GTE, Op.LT, Op.LTE])
    def test_nan_never_matches_an_ordering_operator(self, op: Operator) -> None:
        assert "C" not in hits(Condition("ltv", op, 50))
        assert "C" not in hits(Condition("ltv", op, float("-inf")))
        assert "C" not in hits(Condition("ltv", op, float("inf")))

    def test_missing_number_matches_neither_eq_nor_ne(self) -> None:
        assert "C" not in hits(Condition("ltv", Op.EQ, 50))
        assert "C" not in hits(Condition("ltv", Op.NE, 50))
        assert "C" not in hits(Condition("ltv", Op.NOT_IN, (50,)))
        assert "C" in hits(Not(Condition("ltv", Op.EXISTS)))

    def test_a_value_that_is_not_a_number_raises(self) -> None:
        with pytest.raises(DomainError, match="ltv is numeric; 'high' is not a number"):
            Condition("ltv", Op.EQ, "high").mask(TABLE)
        with pytest.raises(DomainError, match="is not a number"):
            Condition("ltv", Op.IN, (1, "x")).mask(TABLE)


class TestCategorical:
    @pytest.mark.parametrize(
        ("op", "value", "expected"),
        [
            (Op.EQ, "gold", ["A", "D"]),
            (Op.EQ, "bronze", []),
            (Op.NE, "gold", ["B"]),
            (Op.IN, ("silver", "bronze"), ["B"]),
            (Op.NOT_IN, ("gold", "silver"), []),
            (Op.EXISTS, None, ["A", "B", "D"]),
        ],
    )
    def test_text_attribute(self, op: Operator, value: Any, expected: list[str]) -> None:
        assert hits(Condition("tier", op, value)) == expected

    def test_missing_text_matches_no_comparison(self) -> None:
        # as for numbers (see TestNumeric): only ``exists`` asks about a missing value
        assert "C" not in hits(Condition("tier", Op.EQ, ""))
        assert "C" not in hits(Condition("tier", Op.NE, "gold"))
        assert "C" not in hits(Condition("tier", Op.NOT_IN, ("gold",)))
        assert "C" in hits(Not(Condition("tier", Op.EXISTS)))

    @pytest.mark.parametrize(
        ("field", "op", "value", "expected"),
        [
            ("region", Op.EQ, "EU", ["A", "C"]),
            ("region", Op.NE, "EU", ["B", "D"]),
            ("region", Op.IN, ("US", "CA"), ["B", "D"]),
            ("region", Op.NOT_IN, ("US", "CA"), ["A", "C"]),
            ("region", Op.EXISTS, None, ["A", "B", "C", "D"]),
            ("country", Op.EQ, "CA", ["D"]),
            ("time_zone", Op.EQ, "America/New_York", ["B"]),
            ("time_zone", Op.IN, ("UTC",), ["A", "C", "D"]),
            ("suppression_reason", Op.EQ, "hard_bounce", ["B"]),
            ("suppression_reason", Op.EXISTS, None, ["B"]),
            ("suppression_reason", Op.NE, "hard_bounce", []),
        ],
    )
    def test_builtin_fields(
        self, field: str, op: Operator, value: Any, expected: list[str]
    ) -> None:
        assert hits(Condition(field, op, value)) == expected

    @pytest.mark.parametrize("op", [Op.GT, Op.GTE, Op.LT, Op.LTE])
    @pytest.mark.parametrize("field", ["tier", "region"])
    def test_ordering_on_text_raises(self, field: str, op: Operator) -> None:
        with pytest.raises(DomainError, match="holds text"):
            Condition(field, op, 1).mask(TABLE)

    def test_a_numeric_rule_value_is_compared_as_text(self) -> None:
        table = CustomerTable.from_customers(
            [person("A", attributes={"code": "5"}), person("B", attributes={"code": "x"})]
        )
        assert Condition("code", Op.EQ, 5).mask(table).tolist() == [True, False]


class TestFlagsAndConsent:
    def test_suppressed(self) -> None:
        assert hits(Condition("suppressed", Op.EQ, True)) == ["B"]
        assert hits(Condition("suppressed", Op.EQ, False)) == ["A", "C", "D"]
        assert hits(Condition("suppressed", Op.NE, True)) == ["A", "C", "D"]
        assert hits(Condition("suppressed", Op.EXISTS)) == ["A", "B", "C", "D"]

    @pytest.mark.parametrize(
        ("op", "value"), [(Op.EQ, "true"), (Op.EQ, 1), (Op.IN, (True,)), (Op.GT, 0)]
    )
    def test_suppressed_takes_only_eq_ne_with_a_bool(self, op: Operator, value: Any) -> None:
        with pytest.raises(DomainError, match="only eq/ne true/false apply"):
            Condition("suppressed", op, value).mask(TABLE)

    @pytest.mark.parametrize(
        ("field", "op", "value", "expected"),
        [
            ("consent.email", Op.EQ, "granted", ["A"]),
            ("consent.email", Op.EQ, "denied", ["B"]),
            ("consent.email", Op.EQ, "unknown", ["C", "D"]),
            ("consent.email", Op.NE, "granted", ["B", "C", "D"]),
            ("consent.email", Op.IN, ("granted", "denied"), ["A", "B"]),
            ("consent.email", Op.NOT_IN, ("unknown",), ["A", "B"]),
            ("consent.email", Op.EXISTS, None, ["A", "B", "C", "D"]),
            ("consent.sms", Op.EQ, "granted", ["D"]),
            ("consent.display", Op.EQ, "granted", []),
        ],
    )
    def test_consent(self, field: str, op: Operator, value: Any, expected: list[str]) -> None:
        assert hits(Condition(field, op, value)) == expected

    @pytest.mark.parametrize("channel", ["paid_search", "content", "fax"])
    def test_consent_on_a_channel_without_consent_raises(self, channel: str) -> None:
        with pytest.raises(DomainError, match="carries no per-customer consent"):
            Condition(f"consent.{channel}", Op.EQ, "granted")

    @pytest.mark.parametrize("value", ["yes", "GRANTED", ("granted", "maybe")])
    def test_consent_value_must_be_a_status(self, value: Any) -> None:
        op = Op.IN if isinstance(value, tuple) else Op.EQ
        with pytest.raises(DomainError, match="consent values are"):
            Condition("consent.email", op, value)


class TestConditionChecks:
    @pytest.mark.parametrize("op", [Op.IN, Op.NOT_IN])
    def test_membership_needs_a_tuple(self, op: Operator) -> None:
        with pytest.raises(DomainError, match="needs a list of values"):
            Condition("tier", op, "gold")

    @pytest.mark.parametrize("op", [Op.GT, Op.GTE, Op.LT, Op.LTE])
    def test_ordering_needs_a_number(self, op: Operator) -> None:
        with pytest.raises(DomainError, match="needs a number"):
            Condition("ltv", op, "10")

    def test_exists_takes_no_value(self) -> None:
        with pytest.raises(DomainError, match="exists takes no value"):
            Condition("ltv", Op.EXISTS, True)

    def test_unknown_field_raises_when_evaluated(self) -> None:
        with pytest.raises(DomainError, match="unknown customer field 'shoe_size'"):
            Condition("shoe_size", Op.EXISTS).mask(TABLE)

    def test_unknown_field_inside_a_combinator_raises(self) -> None:
        rule = AnyOf((Condition("region", Op.EXISTS), Condition("shoe_size", Op.EQ, 1)))
        with pytest.raises(DomainError, match="shoe_size"):
            rule.mask(TABLE)


class TestCombinators:
    def test_all(self) -> None:
        rule = AllOf((Condition("region", Op.EQ, "EU"), Condition("ltv", Op.GT, 10)))
        assert hits(rule) == ["A"]

    def test_any(self) -> None:
        rule = AnyOf((Condition("region", Op.EQ, "US"), Condition("tier", Op.EQ, "gold")))
        assert hits(rule) == ["A", "B", "D"]

    def test_not(self) -> None:
        assert hits(Not(Condition("region", Op.EQ, "EU"))) == ["B", "D"]
        assert hits(Not(Not(Condition("region", Op.EQ, "EU")))) == ["A", "C"]

    def test_nested(self) -> None:
        rule = AllOf(
            (
                Not(Condition("suppressed", Op.EQ, True)),
                AnyOf((Condition("consent.email", Op.EQ, "granted"), Condition("ltv", Op.LTE, 0))),
            )
        )
        assert hits(rule) == ["A", "D"]

    def test_empty_all_matches_everyone_and_empty_any_no_one(self) -> None:
        assert hits(AllOf(())) == ["A", "B", "C", "D"]
        assert hits(AnyOf(())) == []


class TestSegment:
    def test_mask_and_size(self) -> None:
        segment = Segment("gold", "Gold tier", Condition("tier", Op.EQ, "gold"))
        assert segment.mask(TABLE).tolist() == [True, False, False, True]
        assert segment.size(TABLE) == 2
        by_region = Segment("eu", "EU", Condition("region", Op.EQ, "EU"))
        assert by_region.size(TABLE) == 2
        assert by_region.size(CustomerTable.empty()) == 0

    def test_empty_id_raises(self) -> None:
        with pytest.raises(DomainError, match="segment id must not be empty"):
            Segment("", "x", Condition("region", Op.EXISTS))


# -- property: the vectorised mask agrees with a per-record reference evaluator ------------------

NUMERIC = {"ltv"}
BUILTIN = ("region", "country", "time_zone", "suppression_reason")
NUMBERS = [-3.0, 0.0, 1.0, 2.5, 10.0, 1e6]


class UnknownField(Exception):
    pass


def field_value(customer: Customer, field: str, known: set[str]) -> Any:
    """What a record holds for ``field``; ``None`` where nothing is recorded."""
    if field == "suppressed":
        return customer.suppressed
    if field.startswith("consent."):
        return customer.consent_for(ChannelName(field.removeprefix("consent."))).status.value
    if field in BUILTIN:
        return getattr(customer, field) or None
    if field not in known:
        raise UnknownField(field)
    return customer.attributes.get(field)


def reference(rule: Rule, customer: Customer, known: set[str]) -> bool:
    if isinstance(rule, AllOf):
        # lists, not generators: every leaf runs, as in the mask, so unknown fields always raise
        return all([reference(r, customer, known) for r in rule.rules])  # noqa: C419
    if isinstance(rule, AnyOf):
        return any([reference(r, customer, known) for r in rule.rules])  # noqa: C419
    if isinstance(rule, Not):
        return not reference(rule.rule, customer, known)
    value = field_value(customer, rule.field, known)
    wanted = rule.value if isinstance(rule.value, tuple) else (rule.value,)
    if rule.op is Op.EXISTS:
        return value is not None
    if rule.field == "suppressed":
        return (value == rule.value) is (rule.op is Op.EQ)
    if rule.field in NUMERIC:
        if value is None:
            return False  # a missing number matches no comparison at all
        bound = float(wanted[0])  # type: ignore[arg-type]
        return bool(
            {
                Op.EQ: value in wanted,
                Op.IN: value in wanted,
                Op.NE: value not in wanted,
                Op.NOT_IN: value not in wanted,
                Op.GT: value > bound,
                Op.GTE: value >= bound,
                Op.LT: value < bound,
                Op.LTE: value <= bound,
            }[rule.op]
        )
    if value is None:
        return False  # a missing value matches no comparison, text or number
    member = value in {str(v) for v in wanted}
    return member if rule.op in (Op.EQ, Op.IN) else not member


def text_values(pool: list[str]) -> st.SearchStrategy[Any]:
    return st.sampled_from(pool)


def text_condition(field: str, pool: list[Any]) -> st.SearchStrategy[Condition]:
    one = st.sampled_from(pool)
    many = st.lists(one, min_size=1, max_size=3).map(tuple)
    return st.one_of(
        st.builds(Condition, st.just(field), st.sampled_from([Op.EQ, Op.NE]), one),
        st.builds(Condition, st.just(field), st.sampled_from([Op.IN, Op.NOT_IN]), many),
        st.just(Condition(field, Op.EXISTS)),
    )


numbers = st.sampled_from([*NUMBERS, 7.0])
leaves = st.one_of(
    text_condition("region", ["EU", "US", "XX"]),
    text_condition("country", ["DE", "US"]),
    text_condition("time_zone", ["UTC", "Europe/Berlin"]),
    text_condition("suppression_reason", ["bounce", "complaint"]),
    text_condition("tier", ["gold", "silver", "bronze", 5, "5"]),
    *(
        text_condition(f"consent.{ch}", [s.value for s in ConsentStatus])
        for ch in (ChannelName.EMAIL, ChannelName.DISPLAY)
    ),
    st.builds(Condition, st.just("suppressed"), st.sampled_from([Op.EQ, Op.NE]), st.booleans()),
    st.just(Condition("suppressed", Op.EXISTS)),
    st.builds(
        Condition,
        st.just("ltv"),
        st.sampled_from([Op.EQ, Op.NE, Op.GT, Op.GTE, Op.LT, Op.LTE]),
        numbers,
    ),
    st.builds(
        Condition,
        st.just("ltv"),
        st.sampled_from([Op.IN, Op.NOT_IN]),
        st.lists(numbers, min_size=1, max_size=3).map(tuple),
    ),
    st.just(Condition("ltv", Op.EXISTS)),
)
rules: st.SearchStrategy[Rule] = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3).map(lambda rs: AllOf(tuple(rs))),
        st.lists(children, min_size=1, max_size=3).map(lambda rs: AnyOf(tuple(rs))),
        children.map(Not),
    ),
    max_leaves=6,
)


@st.composite
def records(draw: st.DrawFn, customer_id: str) -> Customer:
    suppressed = draw(st.booleans())
    consent = {}
    for channel in CONSENT_CHANNELS:
        status = draw(st.sampled_from(ConsentStatus))
        basis = LawfulBasis.CONSENT if status is ConsentStatus.GRANTED else LawfulBasis.NONE
        consent[channel] = Consent(status, basis)
    attributes: dict[str, float | str] = {}
    if draw(st.booleans()):
        attributes["ltv"] = draw(st.sampled_from(NUMBERS))
    if draw(st.booleans()):
        attributes["tier"] = draw(st.sampled_from(["gold", "silver", "5"]))
    return Customer(
        id=customer_id,
        region=draw(st.sampled_from(["EU", "US", ""])),
        country=draw(st.sampled_from(["DE", "US"])),
        time_zone=draw(st.sampled_from(["UTC", "Europe/Berlin"])),
        consent=consent,
        attributes=attributes,
        suppressed=suppressed,
        suppression_reason=draw(st.sampled_from([None, "bounce"])) if suppressed else None,
    )


@st.composite
def tables(draw: st.DrawFn) -> CustomerTable:
    n = draw(st.integers(0, 8))
    return CustomerTable.from_customers([draw(records(f"c{i}")) for i in range(n)])


@settings(max_examples=300, deadline=None)
@given(tables(), rules)
def test_mask_agrees_with_the_reference_evaluator_on_every_row(
    table: CustomerTable, rule: Rule
) -> None:
    known = set(table.attribute_names)
    segment = Segment("s", "s", rule)
    try:
        expected = [reference(rule, table.row(i), known) for i in range(len(table))]
        # an unknown field raises even on an empty table
        reference(rule, Customer("probe", "EU", "DE", "UTC"), known)
    except UnknownField as missing:
        with pytest.raises(DomainError, match=str(missing)):
            segment.mask(table)
        return
    mask = segment.mask(table)
    assert mask.dtype == np.bool_
    assert mask.tolist() == expected

"""CustomerTable: all customers of a snapshot as columns, and its record-level round trips."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mios.domain.categorical import Categorical
from mios.domain.channel import CONSENT_CHANNELS, ChannelName
from mios.domain.customer import Consent, ConsentStatus, Customer, LawfulBasis
from mios.domain.customer_table import CustomerTable, consent_column
from mios.errors import DomainError

K = len(CONSENT_CHANNELS)
GRANTED = Consent(
    ConsentStatus.GRANTED, LawfulBasis.CONSENT, datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
)
DENIED = Consent(ConsentStatus.DENIED, LawfulBasis.NONE, None)


def full_consent(**given: Consent) -> dict[ChannelName, Consent]:
    """Every consent channel, as ``row`` returns it; unnamed channels have no consent."""
    return {ch: given.get(ch.value, Consent()) for ch in CONSENT_CHANNELS}


def customer(customer_id: str, **overrides: Any) -> Customer:
    fields: dict[str, Any] = {
        "id": customer_id,
        "region": "EU",
        "country": "DE",
        "time_zone": "Europe/Berlin",
        "consent": full_consent(),
    }
    fields.update(overrides)
    return Customer(**fields)


def table_of(*customers: Customer) -> CustomerTable:
    return CustomerTable.from_customers(customers)


class TestRecordRoundTrip:
    def test_every_field_survives_from_customers_then_row(self) -> None:
        berlin = timezone(timedelta(hours=1))
        original = customer(
            "C1",
            region="EU",
            country="DE",
            time_zone="Europe/Berlin",
            consent=full_consent(
                email=GRANTED,
                sms=DENIED,
                push=Consent(
                    ConsentStatus.GRANTED,
                    LawfulBasis.LEGITIMATE_INTEREST,
                    datetime(2023, 12, 31, 23, 59, 59, tzinfo=berlin),
                ),
            ),
            attributes={"ltv": 512.25, "tier": "gold", "orders": 3},
            suppressed=True,
            suppression_reason="hard_bounce",
        )
        back = table_of(original).row(0)
        assert back == original
        # the non-UTC timestamp comes back as the same instant, in UTC
        assert back.consent_for(ChannelName.PUSH).at == datetime(
            2023, 12, 31, 22, 59, 59, tzinfo=UTC
        )
        assert back.consent_for(ChannelName.PUSH).at.tzinfo is UTC  # type: ignore[union-attr]

    def test_attribute_types_numeric_and_text(self) -> None:
        table = table_of(
            customer("A", attributes={"ltv": 10, "tier": "gold"}),
            customer("B", attributes={"ltv": 2.5}),
            customer("C", attributes={"tier": "7"}),
        )
        assert set(table.numeric) == {"ltv"}
        assert set(table.categorical) == {"tier"}
        np.testing.assert_array_equal(table.numeric["ltv"], [10.0, 2.5, np.nan])
        assert table.categorical["tier"].strings().tolist() == ["gold", "", "7"]
        assert table.row(1).attributes == {"ltv": 2.5}
        assert table.row(2).attributes == {"tier": "7"}
        assert table.attribute_names == ("ltv", "tier")

    def test_an_attribute_with_any_text_value_is_text(self) -> None:
        table = table_of(
            customer("A", attributes={"code": 5}), customer("B", attributes={"code": "x"})
        )
        assert "code" in table.categorical
        assert table.categorical["code"].strings().tolist() == ["5", "x"]

    def test_customer_lookup_by_id(self) -> None:
        table = table_of(customer("A"), customer("B", region="US"))
        assert table.customer("B").region == "US"
        with pytest.raises(DomainError, match="no customer with id 'Z'"):
            table.customer("Z")

    def test_attribute_lookup(self) -> None:
        table = table_of(customer("A", attributes={"ltv": 1.0, "tier": "x"}))
        assert isinstance(table.attribute("tier"), Categorical)
        np.testing.assert_array_equal(table.attribute("ltv"), [1.0])
        with pytest.raises(DomainError, match="no customer attribute named 'nope'"):
            table.attribute("nope")

    def test_empty_table(self) -> None:
        table = CustomerTable.empty()
        assert len(table) == 0
        assert table.consent_status.shape == (0, K)
        assert table.attribute_names == ()
        assert table.positions(["A"]).tolist() == [-1]


class TestPositions:
    table = table_of(customer("m"), customer("a"), customer("z"), customer("k"))

    def test_present_and_missing_ids(self) -> None:
        found = self.table.positions(["z", "nope", "m", "a", "k", "", "zz", "0"])
        assert found.tolist() == [2, -1, 0, 1, 3, -1, -1, -1]
        assert found.dtype == np.int64

    def test_every_position_points_at_its_id(self) -> None:
        ids = self.table.ids.tolist()
        assert [self.table.ids[p] for p in self.table.positions(ids)] == ids

    def test_no_ids(self) -> None:
        assert self.table.positions([]).tolist() == []


class TestDuplicates:
    def test_duplicate_ids_are_listed_once_each(self) -> None:
        table = table_of(customer("b"), customer("a"), customer("b"), customer("c"), customer("b"))
        assert table.duplicate_ids().tolist() == ["b"]

    def test_none(self) -> None:
        assert table_of(customer("a"), customer("b")).duplicate_ids().tolist() == []
        assert CustomerTable.empty().duplicate_ids().tolist() == []


class TestUpsertAndWithout:
    def test_upsert_replaces_by_id_and_appends_new(self) -> None:
        base = table_of(customer("A", region="EU"), customer("B", region="EU"))
        changes = table_of(customer("B", region="US"), customer("C", region="CA"))
        result = base.upsert(changes)
        assert sorted(result.ids.tolist()) == ["A", "B", "C"]
        assert result.customer("A").region == "EU"
        assert result.customer("B").region == "US"
        assert result.customer("C").region == "CA"
        assert result.duplicate_ids().tolist() == []

    def test_upsert_into_empty(self) -> None:
        changes = table_of(customer("A"))
        assert CustomerTable.empty().upsert(changes).equals(changes)

    def test_upsert_nothing(self) -> None:
        base = table_of(customer("A"))
        assert base.upsert(CustomerTable.empty()).equals(base)

    def test_without(self) -> None:
        base = table_of(customer("A"), customer("B"), customer("C"))
        result = base.without(["B", "unknown"])
        assert result.ids.tolist() == ["A", "C"]
        assert base.without([]).equals(base)
        assert len(base) == 3  # the original is untouched

    def test_upsert_that_drops_an_attribute_equals_the_fresh_table(self) -> None:
        base = table_of(customer("A", attributes={"tier": "gold"}))
        changes = table_of(customer("A"))
        result = base.upsert(changes)
        assert result.row(0) == changes.row(0)
        assert result.equals(changes)

    def test_upsert_keeps_a_number_when_no_other_row_has_text(self) -> None:
        base = table_of(customer("A", attributes={"x": "gold"}), customer("C"))
        changes = table_of(customer("A", attributes={"x": 5.0}))
        result = base.upsert(changes)
        assert result.customer("A").attributes == {"x": 5.0}
        assert result.equals(table_of(changes.row(0), customer("C")))

    def test_numbers_in_a_text_column_render_the_same_on_every_path(self) -> None:
        a = customer("A", attributes={"x": 1.0})
        b = customer("B", attributes={"x": "one"})
        direct = table_of(a, b)
        upserted = table_of(a).upsert(table_of(b))
        assert direct.customer("A").attributes == upserted.customer("A").attributes
        assert direct.equals(upserted)


class TestConcat:
    def test_differing_attributes_fill_nan_and_missing(self) -> None:
        left = table_of(customer("A", attributes={"ltv": 5.0, "tier": "gold"}))
        right = table_of(customer("B", attributes={"score": 0.5, "segment": "x"}))
        joined = CustomerTable.concat([left, right])
        assert joined.ids.tolist() == ["A", "B"]
        np.testing.assert_array_equal(joined.numeric["ltv"], [5.0, np.nan])
        np.testing.assert_array_equal(joined.numeric["score"], [np.nan, 0.5])
        assert joined.categorical["tier"].strings().tolist() == ["gold", ""]
        assert joined.categorical["segment"].strings().tolist() == ["", "x"]
        assert joined.row(0).attributes == {"ltv": 5.0, "tier": "gold"}
        assert joined.row(1).attributes == {"score": 0.5, "segment": "x"}

    def test_builtin_categories_merge(self) -> None:
        joined = CustomerTable.concat(
            [table_of(customer("A", region="EU")), table_of(customer("B", region="US"))]
        )
        assert joined.region.categories == ("EU", "US")
        assert [joined.row(i).region for i in range(2)] == ["EU", "US"]

    def test_text_in_any_part_makes_the_column_text_with_numbers_rendered(self) -> None:
        left = table_of(customer("A", attributes={"x": 1.0}), customer("B"))
        right = table_of(customer("C", attributes={"x": "one"}))
        joined = CustomerTable.concat([left, right])
        assert "x" not in joined.numeric
        assert joined.categorical["x"].strings().tolist() == ["1", "", "one"]
        assert joined.row(0).attributes == {"x": "1"}
        assert joined.row(1).attributes == {}

    def test_concat_of_nothing_is_empty(self) -> None:
        assert len(CustomerTable.concat([])) == 0


class TestArraysAndEquality:
    def sample(self) -> CustomerTable:
        return table_of(
            customer(
                "A",
                consent=full_consent(email=GRANTED),
                attributes={"ltv": 1.5, "tier": "gold"},
                suppressed=True,
                suppression_reason="complaint",
            ),
            customer("B", region="US", country="US", time_zone="America/New_York"),
            customer("C", attributes={"tier": "silver"}),
        )

    def test_to_arrays_then_from_arrays_round_trips(self) -> None:
        table = self.sample()
        back = CustomerTable.from_arrays(table.to_arrays())
        assert back.equals(table)
        assert [back.row(i) for i in range(3)] == [table.row(i) for i in range(3)]
        assert back.attribute_names == ("ltv", "tier")

    def test_round_trip_through_npz(self, tmp_path: Any) -> None:
        table = self.sample()
        path = tmp_path / "t.npz"
        np.savez(path, **table.to_arrays())  # type: ignore[arg-type]
        with np.load(path) as loaded:
            back = CustomerTable.from_arrays(dict(loaded))
        assert back.equals(table)

    def test_equals_ignores_row_order(self) -> None:
        table = self.sample()
        shuffled = table.take(np.asarray([2, 0, 1]))
        assert shuffled.ids.tolist() == ["C", "A", "B"]
        assert shuffled.equals(table)
        assert table.equals(shuffled)

    def test_equals_ignores_category_coding(self) -> None:
        table = self.sample()
        recoded = replace(
            table,
            region=table.region.recoded(("AA", "EU", "US", "ZZ")),
            categorical={"tier": table.categorical["tier"].recoded(("a", "gold", "silver"))},
        )
        assert recoded.region.codes.tolist() != table.region.codes.tolist()
        assert recoded.equals(table)

    @pytest.mark.parametrize(
        "change",
        [
            lambda c: replace(c, region="US"),
            lambda c: replace(c, suppressed=False, suppression_reason=None),
            lambda c: replace(c, attributes={"ltv": 1.5000001, "tier": "gold"}),
            lambda c: replace(c, attributes={"ltv": 1.5, "tier": "silver"}),
            lambda c: replace(c, consent=full_consent(email=replace(GRANTED, at=None))),
            lambda c: replace(
                c, consent=full_consent(email=replace(GRANTED, basis=LawfulBasis.CONTRACT))
            ),
            lambda c: replace(c, consent=full_consent()),
            lambda c: replace(c, id="Z"),
        ],
    )
    def test_equals_sees_any_changed_value(self, change: Any) -> None:
        table = self.sample()
        changed = table_of(change(table.row(0)), table.row(1), table.row(2))
        assert not changed.equals(table)
        assert not table.equals(changed)

    def test_equals_sees_different_lengths_and_attribute_sets(self) -> None:
        table = self.sample()
        assert not table.equals(table.take(np.asarray([0, 1])))
        fewer = table_of(*(replace(table.row(i), attributes={}) for i in range(3)))
        assert not table.equals(fewer)

    def test_equals_is_false_when_an_attribute_changes_kind(self) -> None:
        numeric = table_of(customer("A", attributes={"x": 1.0}))
        text = table_of(customer("A", attributes={"x": "one"}))
        assert numeric.equals(text) is False
        assert text.equals(numeric) is False

    def test_equals_treats_an_absent_attribute_as_all_missing(self) -> None:
        plain = table_of(customer("A"), customer("B"))
        empty_column = replace(
            plain,
            numeric={"ltv": np.full(2, np.nan)},
            categorical={"tier": Categorical.from_strings(["", ""])},
        )
        assert empty_column.attribute_names == ("ltv", "tier")
        assert empty_column.equals(plain)
        assert plain.equals(empty_column)
        one_value = replace(plain, numeric={"ltv": np.asarray([np.nan, 1.0])})
        assert not one_value.equals(plain)
        assert not plain.equals(one_value)


def _valid_kwargs(n: int) -> dict[str, Any]:
    cats = Categorical.from_strings(["x"] * n)
    return {
        "ids": np.asarray([f"c{i}" for i in range(n)], dtype=np.str_),
        "region": cats,
        "country": cats,
        "time_zone": cats,
        "suppressed": np.zeros(n, dtype=np.bool_),
        "suppression_reason": Categorical.from_strings([""] * n),
        "consent_status": np.zeros((n, K), dtype=np.int8),
        "consent_basis": np.zeros((n, K), dtype=np.int8),
        "consent_at": np.full((n, K), np.datetime64("NaT"), dtype="datetime64[s]"),
    }


class TestPostInit:
    def test_valid_columns_build(self) -> None:
        assert len(CustomerTable(**_valid_kwargs(3))) == 3

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("region", Categorical.from_strings(["x", "y"])),
            ("country", Categorical.from_strings(["x"] * 4)),
            ("time_zone", Categorical.from_strings([])),
            ("suppressed", np.zeros(2, dtype=np.bool_)),
            ("suppression_reason", Categorical.from_strings(["", ""])),
        ],
    )
    def test_column_length_mismatch_raises(self, name: str, value: Any) -> None:
        kwargs = _valid_kwargs(3) | {name: value}
        with pytest.raises(DomainError, match=rf"column {name} has \d+ rows, ids have 3"):
            CustomerTable(**kwargs)

    def test_attribute_length_mismatch_raises(self) -> None:
        with pytest.raises(DomainError, match=r"numeric\.ltv has 2 rows"):
            CustomerTable(**_valid_kwargs(3), numeric={"ltv": np.zeros(2)})
        with pytest.raises(DomainError, match=r"categorical\.tier has 1 rows"):
            CustomerTable(**_valid_kwargs(3), categorical={"tier": Categorical.from_strings(["a"])})

    @pytest.mark.parametrize("name", ["consent_status", "consent_basis", "consent_at"])
    @pytest.mark.parametrize("shape", [(3, K - 1), (2, K), (3,)])
    def test_consent_shape_mismatch_raises(self, name: str, shape: tuple[int, ...]) -> None:
        kwargs = _valid_kwargs(3)
        kwargs[name] = np.zeros(shape, dtype=kwargs[name].dtype)
        with pytest.raises(DomainError, match=rf"column {name} has shape"):
            CustomerTable(**kwargs)

    def test_attribute_both_numeric_and_categorical_raises(self) -> None:
        with pytest.raises(DomainError, match="'x' is both numeric and categorical"):
            CustomerTable(
                **_valid_kwargs(1),
                numeric={"x": np.zeros(1)},
                categorical={"x": Categorical.from_strings(["a"])},
            )


class TestConsent:
    def test_granted_per_channel(self) -> None:
        table = table_of(
            customer("A", consent=full_consent(email=GRANTED)),
            customer("B", consent=full_consent(sms=GRANTED, email=DENIED)),
            customer("C"),
        )
        assert table.granted(ChannelName.EMAIL).tolist() == [True, False, False]
        assert table.granted(ChannelName.SMS).tolist() == [False, True, False]
        assert table.granted(ChannelName.DISPLAY).tolist() == [False, False, False]

    def test_consent_column_indexes_consent_channels(self) -> None:
        assert [consent_column(ch) for ch in CONSENT_CHANNELS] == list(range(K))

    @pytest.mark.parametrize("channel", [ChannelName.PAID_SEARCH, ChannelName.CONTENT])
    def test_channel_without_consent_raises(self, channel: ChannelName) -> None:
        with pytest.raises(DomainError, match="carries no per-customer consent"):
            consent_column(channel)
        with pytest.raises(DomainError, match="carries no per-customer consent"):
            table_of(customer("A")).granted(channel)


# -- model-based property: upsert and without against a dict of customers -----------------------

_STAMP = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))


@st.composite
def consents(draw: st.DrawFn) -> Consent:
    status = draw(st.sampled_from(ConsentStatus))
    bases = [b for b in LawfulBasis if not (status is ConsentStatus.GRANTED and b is b.NONE)]
    return Consent(status, draw(st.sampled_from(bases)), draw(st.none() | _STAMP))


@st.composite
def customers(draw: st.DrawFn, ids: st.SearchStrategy[str]) -> Customer:
    suppressed = draw(st.booleans())
    attributes: dict[str, float | str] = {}
    if draw(st.booleans()):
        attributes["ltv"] = draw(st.floats(-1e6, 1e6, allow_nan=False))
    if draw(st.booleans()):
        attributes["tier"] = draw(st.sampled_from(["gold", "silver", "5"]))
    return Customer(
        id=draw(ids),
        region=draw(st.sampled_from(["EU", "US", "CA"])),
        country=draw(st.sampled_from(["DE", "US", "CA"])),
        time_zone=draw(st.sampled_from(["UTC", "Europe/Berlin"])),
        consent={ch: draw(consents()) for ch in CONSENT_CHANNELS},
        attributes=attributes,
        suppressed=suppressed,
        suppression_reason=draw(st.sampled_from([None, "bounce"])) if suppressed else None,
    )


_IDS = st.sampled_from(["a", "b", "c", "dd", "eee", "f"])


def _by_id(people: list[Customer]) -> dict[str, Customer]:
    return {c.id: c for c in people}


def _assert_matches(table: CustomerTable, model: dict[str, Customer]) -> None:
    assert len(table) == len(model)
    assert sorted(table.ids.tolist()) == sorted(model)
    assert table.duplicate_ids().tolist() == []
    for customer_id, expected in model.items():
        assert table.customer(customer_id) == expected
    assert table.equals(CustomerTable.from_customers(model.values()))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(customers(_IDS), max_size=6).map(_by_id),
    st.lists(
        st.one_of(
            st.tuples(st.just("upsert"), st.lists(customers(_IDS), max_size=4).map(_by_id)),
            st.tuples(st.just("without"), st.lists(_IDS, max_size=3)),
        ),
        max_size=5,
    ),
)
def test_upsert_and_without_follow_a_dict_model(
    start: dict[str, Customer], steps: list[tuple[str, Any]]
) -> None:
    model = dict(start)
    table = CustomerTable.from_customers(model.values())
    for kind, arg in steps:
        if kind == "upsert":
            table = table.upsert(CustomerTable.from_customers(arg.values()))
            model.update(arg)
        else:
            table = table.without(arg)
            for customer_id in arg:
                model.pop(customer_id, None)
        _assert_matches(table, model)

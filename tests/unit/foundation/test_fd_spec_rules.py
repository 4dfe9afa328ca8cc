"""Segment rules as people write them in YAML, and the workspace time zone."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from mios.context.spec import WorkspaceInfoSpec, is_time_zone
from mios.context.translate import parse_rule
from mios.domain.segment import AllOf, AnyOf, Condition, Not, Operator
from mios.errors import DomainError

EU = {"field": "region", "eq": "EU"}


class TestValidRules:
    @pytest.mark.parametrize(
        ("data", "expected"),
        [
            ({"field": "region", "eq": "EU"}, Condition("region", Operator.EQ, "EU")),
            ({"field": "region", "ne": "EU"}, Condition("region", Operator.NE, "EU")),
            (
                {"field": "tier", "in": ["gold", "silver"]},
                Condition("tier", Operator.IN, ("gold", "silver")),
            ),
            ({"field": "tier", "not_in": ["gold"]}, Condition("tier", Operator.NOT_IN, ("gold",))),
            ({"field": "ltv", "gt": 10}, Condition("ltv", Operator.GT, 10)),
            ({"field": "ltv", "gte": 10.5}, Condition("ltv", Operator.GTE, 10.5)),
            ({"field": "ltv", "lt": 0}, Condition("ltv", Operator.LT, 0)),
            ({"field": "ltv", "lte": -1}, Condition("ltv", Operator.LTE, -1)),
            ({"field": "ltv", "exists": True}, Condition("ltv", Operator.EXISTS, None)),
            ({"field": "suppressed", "eq": False}, Condition("suppressed", Operator.EQ, False)),
            (
                {"field": "consent.email", "eq": "granted"},
                Condition("consent.email", Operator.EQ, "granted"),
            ),
            ({"field": "_private.x1", "eq": 1}, Condition("_private.x1", Operator.EQ, 1)),
        ],
    )
    def test_conditions(self, data: dict[str, Any], expected: Condition) -> None:
        assert parse_rule(data) == expected

    def test_all_any_not(self) -> None:
        big = {"field": "ltv", "gte": 500}
        assert parse_rule({"all": [EU, big]}) == AllOf((parse_rule(EU), parse_rule(big)))
        assert parse_rule({"any": [EU]}) == AnyOf((parse_rule(EU),))
        assert parse_rule({"not": EU}) == Not(parse_rule(EU))

    def test_deep_nesting(self) -> None:
        rule = parse_rule({"all": [{"not": {"any": [EU, {"field": "ltv", "exists": True}]}}]})
        assert isinstance(rule, AllOf)
        inner = rule.rules[0]
        assert isinstance(inner, Not)
        assert isinstance(inner.rule, AnyOf)
        assert inner.rule.rules[1] == Condition("ltv", Operator.EXISTS)


class TestMalformedRules:
    @pytest.mark.parametrize(
        ("data", "path", "message"),
        [
            ("region == EU", "rule", "expected a mapping"),
            (["all"], "rule", "expected a mapping"),
            (None, "rule", "expected a mapping"),
            ({}, "rule", "expected a mapping"),
            ({"all": []}, "rule.all", "non-empty list"),
            ({"any": EU}, "rule.any", "non-empty list"),
            ({"all": "x"}, "rule.all", "non-empty list"),
            ({"all": [EU, "x"]}, "rule.all[1]", "expected a mapping"),
            ({"any": [EU, {"all": [EU, {}]}]}, "rule.any[1].all[1]", "expected a mapping"),
            ({"not": {}}, "rule.not", "expected a mapping"),
            ({"not": [EU]}, "rule.not", "expected a mapping"),
            ({"not": {"any": [{"field": "x"}]}}, "rule.not.any[0]", "exactly one operator"),
            ({"field": "x", "eq": 1, "ne": 2}, "rule", "exactly one operator"),
            ({"field": "x", "like": "a%"}, "rule", "exactly one operator"),
            ({"field": "x", "all": [EU]}, "rule", "exactly one operator"),
            ({"field": 5, "eq": 1}, "rule.field", "expected a field name"),
            ({"field": "has space", "eq": 1}, "rule.field", "expected a field name"),
            ({"field": "1st", "eq": 1}, "rule.field", "expected a field name"),
            ({"field": "x", "exists": False}, "rule.exists", "write 'exists: true'"),
            ({"field": "x", "exists": "yes"}, "rule.exists", "write 'exists: true'"),
            ({"field": "x", "exists": None}, "rule.exists", "write 'exists: true'"),
            ({"all": [EU], "any": [EU]}, "rule", "unknown rule keys all, any"),
            ({"not": EU, "extra": 1}, "rule", "unknown rule keys extra, not"),
            ({"foo": 1}, "rule", "unknown rule keys foo"),
            ({1: 2}, "rule", "unknown rule keys 1"),
        ],
    )
    def test_raises_domain_error_naming_the_path(self, data: Any, path: str, message: str) -> None:
        with pytest.raises(DomainError) as raised:
            parse_rule(data)
        text = str(raised.value)
        assert text.startswith(f"{path}:") or text.startswith(f"{path}.")
        assert text.startswith(path)
        assert message in text

    @pytest.mark.parametrize(
        ("data", "path"),
        [
            ({"field": "region", "eq": True}, "rule.eq"),
            ({"field": "country", "ne": False}, "rule.ne"),
            ({"field": "tier", "in": ["gold", False]}, "rule.in"),
            ({"any": [EU, {"field": "opted", "not_in": [True]}]}, "rule.any[1].not_in"),
        ],
    )
    def test_a_yaml_boolean_outside_suppressed_raises(self, data: Any, path: str) -> None:
        # YAML 1.1 reads yes/no/on/off (and NO, for Norway) as booleans
        with pytest.raises(DomainError, match="bare word") as raised:
            parse_rule(data)
        assert str(raised.value).startswith(f"{path}: ")

    def test_the_caller_chooses_the_root_path(self) -> None:
        with pytest.raises(DomainError, match=r"^segments\[2\]\.rule\.all\[0\]: expected"):
            parse_rule({"all": [[]]}, "segments[2].rule")

    @pytest.mark.parametrize(
        "data",
        [
            {"field": "tier", "in": "gold"},
            {"field": "ltv", "gt": "high"},
            {"field": "consent.fax", "eq": "granted"},
            {"field": "consent.email", "eq": "yes"},
        ],
    )
    def test_value_errors_raise_domain_error(self, data: dict[str, Any]) -> None:
        with pytest.raises(DomainError, match=data["field"]):
            parse_rule(data)

    @pytest.mark.parametrize(
        "bad",
        [
            {"field": "tier", "in": "gold"},
            {"field": "ltv", "gt": "high"},
            {"field": "consent.fax", "eq": "granted"},
        ],
    )
    def test_value_errors_name_the_path(self, bad: dict[str, Any]) -> None:
        with pytest.raises(DomainError, match=r"rule\.all\[1\]"):
            parse_rule({"all": [EU, bad]})

    @pytest.mark.parametrize(
        "data",
        [
            {"field": "region", "eq": None},
            {"field": "region", "ne": None},
            {"field": "region", "eq": {"a": 1}},
            {"field": "tier", "in": [["gold"]]},
        ],
    )
    def test_a_value_that_is_not_a_scalar_raises(self, data: dict[str, Any]) -> None:
        with pytest.raises(DomainError, match="rule"):
            parse_rule(data)


class TestWorkspaceTimeZone:
    @pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"])
    def test_known_zones(self, zone: str) -> None:
        assert WorkspaceInfoSpec(name="Shop", time_zone=zone).time_zone == zone
        assert is_time_zone(zone)

    def test_default_is_utc(self) -> None:
        info = WorkspaceInfoSpec(name="Shop")
        assert info.time_zone == "UTC"
        assert info.currency == "USD"

    def test_surrounding_whitespace_is_stripped(self) -> None:
        assert WorkspaceInfoSpec(name="Shop", time_zone=" Europe/Paris ").time_zone == (
            "Europe/Paris"
        )

    @pytest.mark.parametrize("zone", ["Mars/Olympus", "", "Europe/Berlinn", "CEST", "+02:00"])
    def test_unknown_zone_raises(self, zone: str) -> None:
        with pytest.raises(ValidationError, match="unknown IANA time zone") as raised:
            WorkspaceInfoSpec(name="Shop", time_zone=zone)
        assert raised.value.errors()[0]["loc"] == ("time_zone",)
        assert not is_time_zone(zone)

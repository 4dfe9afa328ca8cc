"""Money: exact decimal amounts in one currency, parsed from what people write."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mios.domain.money import Money, to_decimal
from mios.errors import DomainError


def eur(text: str) -> Money:
    return Money(Decimal(text), "EUR")


class TestConstruction:
    def test_int_and_str_amounts_become_exact_decimals(self) -> None:
        assert Money(15, "EUR").amount == Decimal(15)  # type: ignore[arg-type]
        assert Money("0.10", "EUR").amount == Decimal("0.10")  # type: ignore[arg-type]
        assert isinstance(Money(15, "EUR").amount, Decimal)  # type: ignore[arg-type]

    def test_float_goes_through_repr_not_binary_expansion(self) -> None:
        assert Money(0.1, "EUR").amount == Decimal("0.1")  # type: ignore[arg-type]
        assert to_decimal(1.1) == Decimal("1.1")
        assert to_decimal(1.1) != Decimal(1.1)  # noqa: RUF032 - the binary expansion on purpose

    @pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity"])
    def test_non_finite_amounts_are_refused(self, bad: str) -> None:
        with pytest.raises(DomainError, match="finite"):
            Money(Decimal(bad), "EUR")

    @pytest.mark.parametrize("currency", ["eur", "EURO", "EU", "", "E1R", " EUR"])
    def test_currency_must_be_three_upper_case_letters(self, currency: str) -> None:
        with pytest.raises(DomainError, match="3-letter"):
            Money(Decimal(1), currency)

    @pytest.mark.parametrize("bad", ["abc", "", "1,5", object(), None, [1]])
    def test_to_decimal_refuses_what_is_not_a_number(self, bad: object) -> None:
        with pytest.raises(DomainError, match="not a number"):
            to_decimal(bad)

    def test_zero(self) -> None:
        zero = Money.zero("USD")
        assert zero.amount == 0
        assert zero.currency == "USD"
        assert not zero.is_negative()


class TestParse:
    def test_bare_amount_takes_the_default_currency(self) -> None:
        assert Money.parse("1500", "USD") == Money(Decimal(1500), "USD")

    def test_amount_then_currency(self) -> None:
        assert Money.parse("1500.50 EUR", "USD") == eur("1500.50")

    def test_currency_then_amount(self) -> None:
        assert Money.parse("EUR 1500.50", "USD") == eur("1500.50")

    def test_surrounding_and_inner_whitespace_is_tolerated(self) -> None:
        assert Money.parse("  EUR   12.5 ", "USD") == eur("12.5")

    def test_negative_amount(self) -> None:
        parsed = Money.parse("-3.25 EUR", "USD")
        assert parsed == eur("-3.25")
        assert parsed.is_negative()

    @pytest.mark.parametrize(
        ("text", "match"),
        [
            ("", "optional currency"),
            ("   ", "optional currency"),
            ("1 2 3", "optional currency"),
            ("EUR 10 extra", "optional currency"),
            ("ten", "not a number"),
            ("EUR", "not a number"),
            ("EUR ten", "not a number"),
            ("EUR USD", "not a number"),
            ("10 eur", "3-letter"),
            ("1500 50", "3-letter"),
            ("NaN EUR", "finite"),
        ],
    )
    def test_bad_text_raises_domain_error(self, text: str, match: str) -> None:
        with pytest.raises(DomainError, match=match):
            Money.parse(text, "USD")


class TestArithmetic:
    def test_add_and_subtract_are_exact(self) -> None:
        assert eur("0.1") + eur("0.2") == eur("0.3")
        assert eur("1.00") - eur("0.01") == eur("0.99")

    def test_subtraction_may_go_negative(self) -> None:
        result = eur("1") - eur("2.5")
        assert result == eur("-1.5")
        assert result.is_negative()

    def test_multiply_by_int_or_decimal_on_either_side(self) -> None:
        assert eur("2.50") * 3 == eur("7.50")
        assert 3 * eur("2.50") == eur("7.50")
        assert eur("10") * Decimal("0.15") == eur("1.5")

    def test_negation(self) -> None:
        assert -eur("4.20") == eur("-4.20")

    @pytest.mark.parametrize(
        "operation",
        [
            lambda a, b: a + b,
            lambda a, b: a - b,
        ],
        ids=["add", "sub"],
    )
    def test_arithmetic_across_currencies_raises(self, operation: object) -> None:
        with pytest.raises(DomainError, match="cannot combine EUR with USD"):
            operation(eur("1"), Money(Decimal(1), "USD"))  # type: ignore[operator]


class TestComparison:
    def test_ordering_within_one_currency(self) -> None:
        assert eur("1") < eur("2")
        assert eur("2") > eur("1")
        assert eur("2") <= eur("2.00")
        assert eur("2") >= eur("2.00")
        assert not eur("2.01") <= eur("2")
        assert not eur("1.99") >= eur("2")

    def test_equal_amounts_with_different_exponents_are_equal(self) -> None:
        assert eur("2") == eur("2.00")
        assert hash(eur("2")) == hash(eur("2.00"))

    def test_same_amount_in_different_currencies_is_not_equal(self) -> None:
        assert eur("1") != Money(Decimal(1), "USD")

    @pytest.mark.parametrize("op", ["__lt__", "__le__", "__gt__", "__ge__"])
    def test_ordering_across_currencies_raises(self, op: str) -> None:
        with pytest.raises(DomainError, match="cannot combine"):
            getattr(eur("1"), op)(Money(Decimal(1), "USD"))


class TestRounding:
    @pytest.mark.parametrize(
        ("amount", "expected"),
        [
            ("2.675", "2.68"),  # half to even: 7 is odd, goes up
            ("2.665", "2.66"),  # half to even: 6 is even, stays
            ("2.685", "2.68"),
            ("0.005", "0.00"),
            ("0.015", "0.02"),
            ("-2.675", "-2.68"),
            ("2.6751", "2.68"),
            ("2.6749", "2.67"),
            ("7", "7.00"),
        ],
    )
    def test_rounded_is_half_even_to_the_cent(self, amount: str, expected: str) -> None:
        rounded = eur(amount).rounded()
        assert rounded.amount == Decimal(expected)
        assert rounded.amount.as_tuple().exponent == -2
        assert rounded.currency == "EUR"

    def test_float_input_rounds_as_written_not_as_stored(self) -> None:
        # 2.675 as a binary float is 2.67499999...; through repr it is exactly 2.675.
        assert Money(2.675, "EUR").rounded().amount == Decimal("2.68")  # type: ignore[arg-type]

    def test_str_shows_thousands_and_cents(self) -> None:
        assert str(eur("1234.5")) == "1,234.50 EUR"
        assert str(Money(Decimal(0), "USD")) == "0.00 USD"

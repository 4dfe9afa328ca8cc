"""Reading a customers CSV: column planning, per-value validation with line numbers, chunking."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from mios.context import customer_checks, customers_csv
from mios.context.customers_csv import CsvImport, read_customers_csv
from mios.domain.channel import ChannelName
from mios.domain.customer import Consent, ConsentStatus, Customer, LawfulBasis
from mios.domain.customer_table import CustomerTable
from mios.errors import CustomerImportError, Problem

HEAD = "customer_id,region,country,time_zone"
FULL = (
    "customer_id,region,country,time_zone,suppressed,suppression_reason,"
    "consent_email,basis_email,consented_at_email"
)
GOOD = {
    "customer_id": "G",
    "region": "EU",
    "country": "DE",
    "time_zone": "Europe/Berlin",
    "suppressed": "false",
    "suppression_reason": "",
    "consent_email": "granted",
    "basis_email": "consent",
    "consented_at_email": "2024-03-01T09:30:00Z",
}


def write(tmp_path: Path, text: str, name: str = "customers.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def full_row(**overrides: str) -> str:
    return ",".join({**GOOD, **overrides}.values())


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(CustomerImportError) as raised:
        read_customers_csv(path, display="customers.csv")
    return list(raised.value.problems)


def where(problem: Problem) -> tuple[int | None, str | None]:
    return problem.location.line, problem.location.field


class TestValidFile:
    TEXT = (
        "customer_id,region,country,time_zone,suppressed,suppression_reason,consent_email,"
        "basis_email,consented_at_email,consent_sms,basis_sms,ltv,tier\n"
        "A,EU,DE,Europe/Berlin,false,,granted,consent,2024-03-01T09:30:00Z,denied,,120.5,gold\n"
        "B,US,US,America/New_York,TRUE,hard_bounce,,,,unknown,,,silver\n"
        " C , EU , FR ,UTC,no,,GRANTED,Legitimate_Interest,2024-03-01,granted,contract,3,\n"
    )

    def read(self, tmp_path: Path) -> CsvImport:
        return read_customers_csv(write(tmp_path, self.TEXT))

    def test_counts_and_no_problems(self, tmp_path: Path) -> None:
        result = self.read(tmp_path)
        assert len(result.table) == 3
        assert result.rows_read == 3
        assert result.rows_skipped == 0
        assert result.problems == []
        assert result.problem_count == 0

    def test_records(self, tmp_path: Path) -> None:
        table = self.read(tmp_path).table
        a = table.customer("A")
        assert a == Customer(
            id="A",
            region="EU",
            country="DE",
            time_zone="Europe/Berlin",
            consent={
                **{ch: Consent() for ch in a.consent},
                ChannelName.EMAIL: Consent(
                    ConsentStatus.GRANTED,
                    LawfulBasis.CONSENT,
                    datetime(2024, 3, 1, 9, 30, tzinfo=UTC),
                ),
                ChannelName.SMS: Consent(ConsentStatus.DENIED),
            },
            attributes={"ltv": 120.5, "tier": "gold"},
        )
        b = table.customer("B")
        assert b.suppressed
        assert b.suppression_reason == "hard_bounce"
        assert b.attributes == {"tier": "silver"}
        assert b.consent_for(ChannelName.EMAIL) == Consent()

    def test_values_are_stripped_and_case_folded(self, tmp_path: Path) -> None:
        c = self.read(tmp_path).table.customer("C")
        assert (c.region, c.country, c.time_zone) == ("EU", "FR", "UTC")
        assert not c.suppressed
        email = c.consent_for(ChannelName.EMAIL)
        assert email.status is ConsentStatus.GRANTED
        assert email.basis is LawfulBasis.LEGITIMATE_INTEREST
        assert email.at == datetime(2024, 3, 1, tzinfo=UTC)
        assert c.consent_for(ChannelName.SMS).basis is LawfulBasis.CONTRACT
        assert c.attributes == {"ltv": 3.0}

    def test_attribute_typing(self, tmp_path: Path) -> None:
        table = self.read(tmp_path).table
        assert set(table.numeric) == {"ltv"}
        assert set(table.categorical) == {"tier"}
        np.testing.assert_array_equal(table.numeric["ltv"], [120.5, np.nan, 3.0])

    def test_header_whitespace_is_ignored(self, tmp_path: Path) -> None:
        path = write(tmp_path, " customer_id , region,country ,time_zone\nA,EU,DE,UTC\n")
        assert read_customers_csv(path).table.ids.tolist() == ["A"]

    def test_header_only_gives_an_empty_table(self, tmp_path: Path) -> None:
        result = read_customers_csv(write(tmp_path, HEAD + ",ltv\n"))
        assert len(result.table) == 0
        assert result.rows_read == 0
        assert result.problems == []

    def test_blank_lines_are_skipped(self, tmp_path: Path) -> None:
        path = write(tmp_path, f"{HEAD}\nA,EU,DE,UTC\n\nB,EU,DE,UTC\n\n")
        result = read_customers_csv(path)
        assert result.table.ids.tolist() == ["A", "B"]
        assert result.rows_read == 2

    def test_progress_ends_at_the_total(self, tmp_path: Path) -> None:
        path = write(tmp_path, self.TEXT)
        calls: list[tuple[int, int]] = []
        read_customers_csv(path, progress=lambda done, total: calls.append((done, total)))
        size = path.stat().st_size
        assert calls[-1] == (size, size)


class TestHeader:
    def test_empty_file(self, tmp_path: Path) -> None:
        (problem,) = problems_of(write(tmp_path, ""))
        assert where(problem) == (1, None)
        assert "empty" in problem.message

    @pytest.mark.parametrize(
        ("header", "missing"),
        [
            ("region,country,time_zone", "customer_id"),
            ("customer_id,country", "region, time_zone"),
            ("id,region,country,timezone", "customer_id, time_zone"),
        ],
    )
    def test_missing_required_column(self, tmp_path: Path, header: str, missing: str) -> None:
        (problem,) = problems_of(write(tmp_path, f"{header}\n"))
        assert where(problem) == (1, None)
        assert problem.message == f"missing required column(s): {missing}"
        assert problem.location.file == "customers.csv"

    def test_duplicate_header(self, tmp_path: Path) -> None:
        (problem,) = problems_of(write(tmp_path, f"{HEAD},ltv,ltv\n"))
        assert where(problem) == (1, None)
        assert "'ltv' appears twice" in problem.message

    @pytest.mark.parametrize(
        "column", ["consent_paid_search", "basis_fax", "consented_at_content", "consent_"]
    )
    def test_consent_like_column_for_an_unknown_channel(self, tmp_path: Path, column: str) -> None:
        (problem,) = problems_of(write(tmp_path, f"{HEAD},{column}\n"))
        assert where(problem) == (1, None)
        assert f"column {column!r}: consent columns exist for" in problem.message

    @pytest.mark.parametrize("column", ["LTV", "1st", "has space", "a-b", "x" * 49, "é"])
    def test_bad_attribute_column_name(self, tmp_path: Path, column: str) -> None:
        (problem,) = problems_of(write(tmp_path, f"{HEAD},{column}\n"))
        assert where(problem) == (1, None)
        assert "attribute names are lowercase" in problem.message

    def test_longest_attribute_name_is_fine(self, tmp_path: Path) -> None:
        name = "x" * 48
        result = read_customers_csv(write(tmp_path, f"{HEAD},{name}\nA,EU,DE,UTC,1\n"))
        assert result.table.attribute_names == (name,)

    def test_a_byte_order_mark_is_ignored(self, tmp_path: Path) -> None:
        path = write(tmp_path, f"\ufeff{HEAD}\nA,EU,DE,UTC\n")
        assert read_customers_csv(path).table.ids.tolist() == ["A"]


class TestInvalidValues:
    @pytest.mark.parametrize(
        ("overrides", "column", "fragment"),
        [
            ({"customer_id": ""}, "customer_id", "customer id is empty"),
            ({"customer_id": "   "}, "customer_id", "customer id is empty"),
            ({"customer_id": "x" * 65}, "customer_id", "longer than 64"),
            ({"region": ""}, "region", "region is empty"),
            ({"country": "usa"}, "country", "2-letter ISO country code"),
            ({"country": "DEU"}, "country", "2-letter ISO country code"),
            ({"country": ""}, "country", "2-letter ISO country code"),
            ({"time_zone": "Mars/Base"}, "time_zone", "IANA time zone"),
            ({"time_zone": ""}, "time_zone", "IANA time zone"),
            ({"consent_email": "maybe"}, "consent_email", "invalid value 'maybe'"),
            (
                {"consent_email": "denied", "basis_email": "because"},
                "basis_email",
                "invalid value 'because'",
            ),
            ({"basis_email": ""}, "basis_email", "granted consent needs a lawful basis"),
            ({"basis_email": "none"}, "basis_email", "granted consent needs a lawful basis"),
            ({"consented_at_email": "2024-13-01"}, "consented_at_email", "invalid timestamp"),
            ({"consented_at_email": "1 March 2024"}, "consented_at_email", "invalid timestamp"),
            ({"suppressed": "maybe"}, "suppressed", "expected true or false"),
            ({"suppression_reason": "bounce"}, "suppression_reason", "not suppressed"),
        ],
    )
    def test_each_kind_names_its_line_and_column(
        self, tmp_path: Path, overrides: dict[str, str], column: str, fragment: str
    ) -> None:
        text = "\n".join(
            [
                FULL,
                full_row(customer_id="G1"),
                full_row(**{"customer_id": "B", **overrides}),
                full_row(customer_id="G2"),
                "",
            ]
        )
        path = write(tmp_path, text)
        (problem,) = problems_of(path)
        assert where(problem) == (3, column)
        assert fragment in problem.message
        assert str(problem).startswith(f"customers.csv:3, {column}: ")

        result = read_customers_csv(path, skip_invalid=True)
        assert result.table.ids.tolist() == ["G1", "G2"]
        assert result.rows_read == 3
        assert result.rows_skipped == 1
        assert [where(p) for p in result.problems] == [(3, column)]

    @pytest.mark.parametrize("value", ["yes", "Y", "1", "true"])
    def test_suppressed_truthy_spellings(self, tmp_path: Path, value: str) -> None:
        path = write(tmp_path, f"{FULL}\n{full_row(suppressed=value, suppression_reason='x')}\n")
        assert read_customers_csv(path).table.suppressed.tolist() == [True]

    def test_a_row_with_the_wrong_number_of_fields(self, tmp_path: Path) -> None:
        path = write(tmp_path, f"{HEAD}\nA,EU,DE,UTC\nB,EU,DE\nC,EU,DE,UTC,extra\nD,EU,DE,UTC\n")
        problems = problems_of(path)
        assert [where(p) for p in problems] == [(3, None), (4, None)]
        assert problems[0].message == "expected 4 fields, got 3"
        assert problems[1].message == "expected 4 fields, got 5"
        result = read_customers_csv(path, skip_invalid=True)
        assert result.table.ids.tolist() == ["A", "D"]
        assert result.rows_read == 4
        assert result.rows_skipped == 2

    def test_duplicate_ids_name_both_lines(self, tmp_path: Path) -> None:
        path = write(tmp_path, f"{HEAD}\nA,EU,DE,UTC\nB,EU,DE,UTC\nA,US,US,UTC\nA,CA,CA,UTC\n")
        problems = problems_of(path)
        assert [where(p) for p in problems] == [(4, "customer_id"), (5, "customer_id")]
        for problem in problems:
            assert problem.message == "duplicate customer id 'A' (first on line 2)"
        result = read_customers_csv(path, skip_invalid=True)
        assert result.table.ids.tolist() == ["A", "B"]
        assert result.table.customer("A").region == "EU"  # the first one is kept

    def test_one_row_with_several_problems_is_skipped_once(self, tmp_path: Path) -> None:
        path = write(tmp_path, f"{HEAD}\nA,EU,DE,UTC\nB,,usa,Nowhere\n")
        result = read_customers_csv(path, skip_invalid=True)
        assert sorted(where(p) for p in result.problems) == [
            (3, "country"),
            (3, "region"),
            (3, "time_zone"),
        ]
        assert result.problem_count == 3
        assert result.rows_skipped == 1
        assert result.table.ids.tolist() == ["A"]

    def test_skip_invalid_drops_exactly_the_bad_rows(self, tmp_path: Path) -> None:
        rows = [
            "A,EU,DE,UTC",
            "B,EU,xx,UTC",  # 3
            "C,EU,DE,UTC",
            "D,EU,DE",  # 5
            "E,EU,DE,Nowhere",  # 6
            "F,EU,DE,UTC",
        ]
        path = write(tmp_path, "\n".join([HEAD, *rows, ""]))
        result = read_customers_csv(path, skip_invalid=True)
        assert result.table.ids.tolist() == ["A", "C", "F"]
        assert sorted(p.location.line or 0 for p in result.problems) == [3, 5, 6]
        assert (result.rows_read, result.rows_skipped) == (6, 3)
        assert not result.table.duplicate_ids().size

    def test_the_error_lists_the_first_problems_and_counts_the_rest(self, tmp_path: Path) -> None:
        bad = [f"{i},EU,xx,UTC" for i in range(8)]
        path = write(tmp_path, "\n".join([HEAD, *bad, ""]))
        with pytest.raises(CustomerImportError) as raised:
            read_customers_csv(path, display="c.csv")
        message = str(raised.value)
        assert message.startswith("8 invalid value(s) in c.csv: c.csv:2, country: ")
        assert "(and 3 more)" in message
        assert message.endswith("nothing was imported")
        assert len(raised.value.problems) == 8

    def test_problems_beyond_the_cap_are_counted_not_kept(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(customer_checks, "MAX_PROBLEMS", 2)
        bad = [f"{i},EU,xx,UTC" for i in range(5)]
        path = write(tmp_path, "\n".join([HEAD, "OK,EU,DE,UTC", *bad, ""]))
        result = read_customers_csv(path, skip_invalid=True)
        assert [p.location.line for p in result.problems] == [3, 4]
        assert result.problem_count == 5
        assert result.rows_skipped == 5
        assert result.table.ids.tolist() == ["OK"]

    @pytest.mark.parametrize("value", ["today", "now"])
    def test_relative_words_are_not_timestamps(self, tmp_path: Path, value: str) -> None:
        path = write(tmp_path, f"{FULL}\n{full_row(consented_at_email=value)}\n")
        (problem,) = problems_of(path)
        assert where(problem) == (2, "consented_at_email")

    @pytest.mark.parametrize(
        "value", ["2024-03-01T09:30:00+02:00", "2024-03-01T09:30:00-05:00", "2024-03-01T09:30+01"]
    )
    def test_a_timestamp_with_an_offset_is_refused_without_a_warning(
        self, tmp_path: Path, value: str
    ) -> None:
        # warnings are errors here, so a numpy time-zone warning escaping would fail this test
        rows = [full_row(customer_id="OK"), full_row(customer_id="TZ", consented_at_email=value)]
        path = write(tmp_path, "\n".join([FULL, *rows, ""]))
        result = read_customers_csv(path, skip_invalid=True)
        assert [where(p) for p in result.problems] == [(3, "consented_at_email")]
        assert "invalid timestamp" in result.problems[0].message
        assert result.table.ids.tolist() == ["OK"]
        at = result.table.row(0).consent_for(ChannelName.EMAIL).at
        assert at == datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


class TestAttributes:
    def test_numeric_and_text_columns(self, tmp_path: Path) -> None:
        text = (
            f"{HEAD},ltv,tier,code,odd,sci\n"
            "A,EU,DE,UTC,1,gold,1,nan,-3e2\n"
            "B,EU,DE,UTC,2.5,,x,inf,\n"
            "C,EU,DE,UTC,,silver,2,1,0.5\n"
        )
        table = read_customers_csv(write(tmp_path, text)).table
        assert set(table.numeric) == {"ltv", "sci"}
        np.testing.assert_array_equal(table.numeric["ltv"], [1.0, 2.5, np.nan])
        np.testing.assert_array_equal(table.numeric["sci"], [-300.0, np.nan, 0.5])
        assert table.categorical["tier"].strings().tolist() == ["gold", "", "silver"]
        assert table.categorical["code"].strings().tolist() == ["1", "x", "2"]
        # "nan" and "inf" written in a file are text, not measurements
        assert table.categorical["odd"].strings().tolist() == ["nan", "inf", "1"]

    def test_an_all_empty_column_is_numeric_and_missing(self, tmp_path: Path) -> None:
        table = read_customers_csv(write(tmp_path, f"{HEAD},ltv\nA,EU,DE,UTC,\n")).table
        assert np.isnan(table.numeric["ltv"]).all()
        assert table.row(0).attributes == {}


class TestChunks:
    ROWS = (
        "A,EU,DE,UTC,10,5",
        "B,EU,DE,UTC,20,12",
        "C,EU,DE,UTC,,abc",
        "D,EU,DE,UTC,40,",
        "E,US,US,UTC,50,7",
    )

    def text(self) -> str:
        return "\n".join([f"{HEAD},ltv,code", *self.ROWS, ""])

    def test_a_column_numeric_in_the_first_chunk_and_text_later_is_text(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(customers_csv, "CHUNK_CHARS", 40)
        table = read_customers_csv(write(tmp_path, self.text())).table
        assert "code" in table.categorical
        assert table.categorical["code"].strings().tolist() == ["5", "12", "abc", "", "7"]
        np.testing.assert_array_equal(table.numeric["ltv"], [10, 20, np.nan, 40, 50])

    def test_chunking_does_not_change_the_result(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = write(tmp_path, self.text())
        whole = read_customers_csv(path).table
        monkeypatch.setattr(customers_csv, "CHUNK_CHARS", 40)
        chunked = read_customers_csv(path).table
        assert chunked.equals(whole)
        assert chunked.ids.tolist() == whole.ids.tolist()

    def test_progress_is_reported_per_chunk(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(customers_csv, "CHUNK_CHARS", 40)
        path = write(tmp_path, self.text())
        calls: list[tuple[int, int]] = []
        read_customers_csv(path, progress=lambda done, total: calls.append((done, total)))
        size = path.stat().st_size
        assert len(calls) >= 3  # 40-character pieces: several pieces for this file
        assert [done for done, _ in calls] == sorted(done for done, _ in calls)
        assert calls[-1] == (size, size)

    def test_line_numbers_and_duplicates_across_chunks(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(customers_csv, "CHUNK_CHARS", 40)
        rows = ["A,EU,DE,UTC", "B,EU,DE,UTC", "C,EU,DE,UTC", "D,EU,xx,UTC", "A,EU,DE,UTC"]
        problems = problems_of(write(tmp_path, "\n".join([HEAD, *rows, ""])))
        assert [where(p) for p in problems] == [(5, "country"), (6, "customer_id")]
        assert "first on line 2" in problems[1].message

    def test_text_written_like_a_number_keeps_its_spelling_across_chunks(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(customers_csv, "CHUNK_CHARS", 40)
        text = f"{HEAD},zip\nA,EU,DE,UTC,007\nB,EU,DE,UTC,1.50\nC,EU,DE,UTC,K1A 0B1\n"
        table = read_customers_csv(write(tmp_path, text)).table
        assert table.categorical["zip"].strings().tolist() == ["007", "1.50", "K1A 0B1"]


class TestPhysicalLines:
    def test_embedded_newlines_keep_later_line_numbers(self, tmp_path: Path) -> None:
        text = (
            f"{HEAD},note\n"
            'A,EU,DE,UTC,"first line\nsecond line"\n'  # lines 2-3
            'B,EU,DE,UTC,"a\n\nb"\n'  # lines 4-6
            "C,EU,xx,UTC,plain\n"  # line 7
        )
        path = write(tmp_path, text)
        (problem,) = problems_of(path)
        assert where(problem) == (7, "country")
        table = read_customers_csv(path, skip_invalid=True).table
        assert table.customer("A").attributes == {"note": "first line\nsecond line"}
        assert table.customer("B").attributes == {"note": "a\n\nb"}

    def test_windows_line_endings(self, tmp_path: Path) -> None:
        text = f"{HEAD}\r\nA,EU,DE,UTC\r\nB,EU,xx,UTC\r\n"
        (problem,) = problems_of(write(tmp_path, text))
        assert where(problem) == (3, "country")


class TestUnreadable:
    def test_non_utf8_file(self, tmp_path: Path) -> None:
        path = tmp_path / "latin.csv"
        path.write_bytes(f"{HEAD}\nA,EU,DE,UTC\nB,Zürich,CH,UTC\n".encode("latin-1"))
        with pytest.raises(CustomerImportError, match="not UTF-8") as raised:
            read_customers_csv(path, display="latin.csv")
        assert raised.value.problems[0].location.file == "latin.csv"

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(CustomerImportError, match="cannot open"):
            read_customers_csv(tmp_path / "nope.csv")


def test_result_table_is_a_customer_table(tmp_path: Path) -> None:
    result = read_customers_csv(write(tmp_path, f"{HEAD}\nA,EU,DE,UTC\n"))
    assert isinstance(result.table, CustomerTable)
    assert result.table.customer("A").consent_for(ChannelName.EMAIL) == Consent()


def test_skip_invalid_keeps_a_valid_copy_of_an_id_whose_first_copy_was_invalid(
    tmp_path: Path,
) -> None:
    text = f"{HEAD}\nA,EU,DE,Mars/Base\nA,EU,DE,Europe/Berlin\nB,US,US,UTC\n"
    result = read_customers_csv(write(tmp_path, text), skip_invalid=True)
    assert sorted(result.table.ids.tolist()) == ["A", "B"]
    assert result.table.customer("A").time_zone == "Europe/Berlin"
    assert [where(p) for p in result.problems] == [(2, "time_zone")]


def test_two_valid_copies_of_an_id_are_still_duplicates(tmp_path: Path) -> None:
    text = f"{HEAD}\nA,EU,DE,UTC\nA,EU,DE,Europe/Berlin\n"
    with pytest.raises(CustomerImportError) as caught:
        read_customers_csv(write(tmp_path, text))
    assert [where(p) for p in caught.value.problems] == [(3, "customer_id")]
    assert "first on line 2" in caught.value.problems[0].message


CONSENTED = f"{HEAD},consent_email,basis_email,consented_at_email\n"


@pytest.mark.parametrize(
    "value",
    [
        "20240301",
        "99999-01-01",
        "2024",
        "2024-03-01 09:30:00",
        "2024-03-01T09:30:00.5Z",
        "2024-02-30",
        "2024-03-01T09:30Z",
        "now",
    ],
)
def test_only_the_documented_timestamp_forms_are_accepted(tmp_path: Path, value: str) -> None:
    text = f"{CONSENTED}A,US,US,UTC,granted,consent,{value}\n"
    with pytest.raises(CustomerImportError) as caught:
        read_customers_csv(write(tmp_path, text))
    assert [where(p) for p in caught.value.problems] == [(2, "consented_at_email")]


@pytest.mark.parametrize("value", ["2024-03-01", "2024-03-01T09:30:00", "2024-03-01T09:30:00Z"])
def test_the_documented_timestamp_forms_are_read_as_utc(tmp_path: Path, value: str) -> None:
    text = f"{CONSENTED}A,US,US,UTC,granted,consent,{value}\n"
    at = (
        read_customers_csv(write(tmp_path, text))
        .table.customer("A")
        .consent_for(ChannelName.EMAIL)
        .at
    )
    assert at is not None
    assert at.tzinfo is not None
    assert at.date().isoformat() == "2024-03-01"


def test_values_wider_than_the_database_columns_are_refused(tmp_path: Path) -> None:
    text = (
        f"{HEAD},suppressed,suppression_reason\n"
        f"A,{'R' * 33},US,UTC,true,x\nB,US,US,UTC,true,{'y' * 201}\n"
    )
    with pytest.raises(CustomerImportError) as caught:
        read_customers_csv(write(tmp_path, text))
    assert [where(p) for p in caught.value.problems] == [(2, "region"), (3, "suppression_reason")]


def test_codes_with_leading_zeros_stay_text(tmp_path: Path) -> None:
    text = f"{HEAD},zip,score\nA,US,US,UTC,02134,0.5\nB,US,US,UTC,10001,0\n"
    table = read_customers_csv(write(tmp_path, text)).table
    assert table.categorical["zip"].strings().tolist() == ["02134", "10001"]
    assert table.numeric["score"].tolist() == [0.5, 0.0]


def test_a_byte_that_is_not_utf8_is_named_by_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        f"{HEAD}\nA,US,US,UTC\nB,EU,DE,Europe/Berlin\n".encode() + b"C,EU,FR,Caf\xe9\n"
    )
    with pytest.raises(CustomerImportError) as caught:
        read_customers_csv(path)
    assert where(caught.value.problems[0]) == (4, None)
    assert "UTF-8" in str(caught.value)

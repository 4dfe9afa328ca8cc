"""YAML with the line of every key and list item, and errors that point at a line."""

from __future__ import annotations

from pathlib import Path

import pytest

from mios.context.yaml_source import dotted, parse_yaml, read_yaml
from mios.errors import WorkspaceError

DOC = """\
workspace:
  name: Shop
segments:
  - id: eu
    rule:
      all:
        - field: region
          eq: EU

        - field: ltv
          gte: 500
  - id: big
budgets: {email: {amount: 10}}
"""


class TestLines:
    doc = parse_yaml(DOC, "mios.yaml")

    def test_data_is_the_parsed_document(self) -> None:
        assert self.doc.data["workspace"] == {"name": "Shop"}
        assert self.doc.data["segments"][0]["rule"]["all"][1] == {"field": "ltv", "gte": 500}
        assert self.doc.file == "mios.yaml"

    @pytest.mark.parametrize(
        ("path", "line"),
        [
            (("workspace",), 1),
            (("workspace", "name"), 2),
            (("segments",), 3),
            (("segments", 0), 4),
            (("segments", 0, "id"), 4),
            (("segments", 0, "rule"), 5),
            (("segments", 0, "rule", "all"), 6),
            (("segments", 0, "rule", "all", 0), 7),
            (("segments", 0, "rule", "all", 0, "eq"), 8),
            (("segments", 0, "rule", "all", 1), 10),
            (("segments", 0, "rule", "all", 1, "gte"), 11),
            (("segments", 1), 12),
            (("segments", 1, "id"), 12),
            (("budgets", "email", "amount"), 13),
        ],
    )
    def test_line_of_nested_keys_and_list_items(
        self, path: tuple[str | int, ...], line: int
    ) -> None:
        assert self.doc.lines[path] == line
        assert self.doc.line_of(path) == line

    def test_line_of_falls_back_to_the_deepest_existing_part(self) -> None:
        assert self.doc.line_of(("segments", 0, "rule", "all", 1, "missing")) == 10
        assert self.doc.line_of(["segments", 7, "id"]) == 3
        assert self.doc.line_of(("nowhere", "at", "all")) is None
        assert self.doc.line_of(()) is None


class TestErrors:
    def test_duplicate_key_raises_with_its_line_and_path(self) -> None:
        text = "a:\n  b: 1\n  c: 2\n  b: 3\n"
        with pytest.raises(WorkspaceError) as raised:
            parse_yaml(text, "f.yaml")
        (problem,) = raised.value.problems
        assert problem.location.file == "f.yaml"
        assert problem.location.line == 4
        assert problem.location.field == "a.b"
        assert "'b' appears twice" in problem.message
        assert str(raised.value).startswith("f.yaml:4")

    def test_duplicate_key_inside_a_list_item(self) -> None:
        with pytest.raises(WorkspaceError) as raised:
            parse_yaml("items:\n  - id: 1\n  - id: 2\n    id: 3\n", "f.yaml")
        (problem,) = raised.value.problems
        assert problem.location.line == 4
        assert problem.location.field == "items[1].id"

    def test_duplicate_top_level_key(self) -> None:
        with pytest.raises(WorkspaceError) as raised:
            parse_yaml("a: 1\nb: 2\na: 3\n", "f.yaml")
        assert raised.value.problems[0].location.line == 3
        assert raised.value.problems[0].location.field == "a"

    @pytest.mark.parametrize(
        ("text", "line"),
        [
            ("a: 1\nb: c: d\n", 2),
            ("a: 1\nb: [1, 2\nc: 3\n", 3),
            ("a: 1\n---\nb: 2\n", 2),
            ("a: *nope\n", 1),
            ("a:\n  - x\n  y: 1\n", 3),
            ("a: 1\nb:\n\tc: 2\n", 3),
        ],
    )
    def test_malformed_yaml_reports_a_line(self, text: str, line: int) -> None:
        with pytest.raises(WorkspaceError, match="malformed YAML") as raised:
            parse_yaml(text, "f.yaml")
        (problem,) = raised.value.problems
        assert problem.location.file == "f.yaml"
        assert problem.location.line == line

    @pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
    def test_empty_document_is_an_empty_mapping(self, text: str) -> None:
        doc = parse_yaml(text, "f.yaml")
        assert doc.data == {}
        assert doc.lines == {}
        assert doc.line_of(("a",)) is None

    def test_scalar_and_list_documents(self) -> None:
        assert parse_yaml("42\n", "f").data == 42
        doc = parse_yaml("- a\n- b\n", "f")
        assert doc.data == ["a", "b"]
        assert doc.lines == {(0,): 1, (1,): 2}


class TestReadYaml:
    def test_reads_a_file_under_its_display_name(self, tmp_path: Path) -> None:
        path = tmp_path / "mios.yaml"
        path.write_text("a:\n  b: 1\n", encoding="utf-8")
        doc = read_yaml(path, display="ws/mios.yaml")
        assert doc.file == "ws/mios.yaml"
        assert doc.line_of(("a", "b")) == 2

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(WorkspaceError, match="file not found") as raised:
            read_yaml(tmp_path / "nope.yaml", display="nope.yaml")
        assert raised.value.problems[0].location.file == "nope.yaml"

    def test_non_utf8_file(self, tmp_path: Path) -> None:
        path = tmp_path / "latin.yaml"
        path.write_bytes("name: caf\u00e9\n".encode("latin-1"))
        with pytest.raises(WorkspaceError, match="cannot read") as raised:
            read_yaml(path)
        assert raised.value.problems[0].location.file == str(path)


def test_dotted_paths() -> None:
    assert dotted(["a", "b"]) == "a.b"
    assert dotted(["a", 0, "b", 2]) == "a[0].b[2]"
    assert dotted([0, "x"]) == "[0].x"
    assert dotted([]) == ""


def test_an_alias_bomb_is_refused_quickly() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    with pytest.raises(WorkspaceError, match="aliases expand to too many"):
        parse_yaml("\n".join(lines) + "\n", "bomb.yaml")


def test_absurd_nesting_is_refused() -> None:
    with pytest.raises(WorkspaceError, match="nested too deeply"):
        parse_yaml("x: " + "[" * 5000 + "]" * 5000 + "\n", "deep.yaml")

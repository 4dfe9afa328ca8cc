"""Loading a workspace folder: every problem names its file, line and field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mios.context.examples import write_example
from mios.context.translate import build_workspace
from mios.context.workspace_files import load_workspace
from mios.errors import CustomerImportError, WorkspaceError


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "w"
    root.mkdir()
    write_example(root, "retail", customers=60, seed=1)
    return root


def edit(path: Path, change: Callable[[str], str]) -> None:
    before = path.read_text()
    after = change(before)
    assert after != before, "the edit must change the file"
    path.write_text(after)


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_the_example_loads(workspace: Path) -> None:
    loaded = load_workspace(workspace)
    assert loaded.customers is not None
    assert len(loaded.customers) == 60
    assert build_workspace(loaded.spec).name == "Northwind Outfitters"


def test_a_segment_naming_no_customer_column_is_refused_at_load(workspace: Path) -> None:
    config = workspace / "mios.yaml"
    edit(config, lambda t: t.replace("field: lifetime_value", "field: lifetime_valu", 1))
    with pytest.raises(WorkspaceError) as caught:
        load_workspace(workspace)
    problem = caught.value.problems[0]
    assert problem.location.file == "mios.yaml"
    assert problem.location.field is not None
    assert problem.location.field.startswith("segments[")
    assert "lifetime_valu" in problem.message
    assert problem.location.line is not None


def test_a_malformed_rule_names_its_place(workspace: Path) -> None:
    config = workspace / "mios.yaml"
    edit(config, lambda t: t.replace("gte: 1500", "gte: high", 1))
    with pytest.raises(WorkspaceError) as caught:
        load_workspace(workspace)
    assert "needs a number" in str(caught.value)
    assert "segments[" in str(caught.value)
    assert caught.value.problems[0].location.line is not None


def test_an_offer_naming_an_unknown_segment_blames_the_offers_file(workspace: Path) -> None:
    offers = workspace / "data" / "offers.yaml"
    edit(offers, lambda t: t.replace("eligible_segments: [", "eligible_segments: [nobody, ", 1))
    with pytest.raises(WorkspaceError) as caught:
        load_workspace(workspace)
    problem = caught.value.problems[0]
    assert problem.location.file == "data/offers.yaml"
    assert problem.location.line == line_of(offers, "nobody")
    assert "unknown segment 'nobody'" in problem.message


def test_unquoted_quiet_hours_are_refused(workspace: Path) -> None:
    config = workspace / "mios.yaml"
    edit(config, lambda t: t.replace('start: "21:00"', "start: 21:00", 1))
    with pytest.raises(WorkspaceError) as caught:
        load_workspace(workspace)
    assert 'quoted local time like "21:00"' in str(caught.value)
    assert caught.value.problems[0].location.field == "channels.sms.quiet_hours.start"


def test_a_policy_with_an_unknown_effect_says_what_is_allowed(workspace: Path) -> None:
    policy = next((workspace / "policies").glob("*.yaml"))
    edit(policy, lambda t: t.replace("effect: deny", "effect: allow", 1))
    with pytest.raises(WorkspaceError) as caught:
        load_workspace(workspace)
    assert len(caught.value.problems) == 1
    problem = caught.value.problems[0]
    assert problem.location.file == f"policies/{policy.name}"
    assert "expected deny, warn or approve" in problem.message
    assert "ApproveEffectSpec" not in str(caught.value)


def test_an_invalid_playbook_cadence_blames_the_playbook(workspace: Path) -> None:
    playbook = next((workspace / "playbooks").glob("*.yaml"))
    edit(playbook, lambda t: t.replace("cadence:", 'cadence: "every monday" #', 1))
    with pytest.raises(WorkspaceError) as caught:
        load_workspace(workspace)
    assert caught.value.problems[0].location.file == f"playbooks/{playbook.name}"


def test_a_bare_yes_no_word_in_a_rule_must_be_quoted(workspace: Path) -> None:
    config = workspace / "mios.yaml"
    edit(config, lambda t: t.replace("field: region, eq: EU", "field: country, in: [NO]", 1))
    with pytest.raises(WorkspaceError, match="quote it"):
        load_workspace(workspace)


def test_a_bad_customer_row_is_named_by_line(workspace: Path) -> None:
    customers = workspace / "data" / "customers.csv"
    lines = customers.read_text().splitlines()
    lines[5] = lines[5].replace(",granted,", ",perhaps,", 1)
    customers.write_text("\n".join(lines) + "\n")
    with pytest.raises(CustomerImportError) as caught:
        load_workspace(workspace)
    assert caught.value.problems[0].location.line == 6
    assert caught.value.problems[0].location.file == "data/customers.csv"


def test_a_missing_config_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="mios init"):
        load_workspace(tmp_path)


@pytest.mark.parametrize(
    ("column", "value"),
    [("spend", "1e999999999"), ("impressions", "\uff11\uff12"), ("clicks", "1_000")],
)
def test_history_numbers_are_plain_ascii(workspace: Path, column: str, value: str) -> None:
    history = workspace / "data" / "history" / "channels.csv"
    lines = history.read_text().splitlines()
    header = lines[0].split(",")
    fields = lines[1].split(",")
    fields[header.index(column)] = value
    lines[1] = ",".join(fields)
    history.write_text("\n".join(lines) + "\n")
    with pytest.raises(WorkspaceError) as caught:
        load_workspace(workspace)
    problem = caught.value.problems[0]
    assert (problem.location.line, problem.location.field) == (2, column)

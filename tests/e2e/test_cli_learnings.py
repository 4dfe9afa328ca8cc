"""``mios learnings`` shows each learning's newest status, and ``--status`` picks by it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from mios.bootstrap import open_context_store
from mios.config import Settings
from mios.context.store import ContextChange
from mios.domain.outcome import Learning
from tests.support.cli import ok, run

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def learning(cycle: str, successes: int) -> Learning:
    return Learning(
        id=f"{cycle}:cell:eu/email/-/value",
        insight=(
            f"email to eu (offer -, angle value): {successes} conversions from 100 messages "
            f"({successes / 100:.2%}), revenue 0.00"
        ),
        evidence=(f"action:{cycle}-a",),
        confidence=0.09,
        created_at=T0,
        cycle_id=cycle,
    )


def write(shop: Path, *learnings: Learning) -> None:
    store = open_context_store(shop, Settings.from_mapping({}))
    try:
        store.write(ContextChange(learnings=learnings), actor="test", reason="learned")
    finally:
        store.close()


def test_learnings_show_the_newest_status_and_filter_by_it(shop: Path) -> None:
    w = str(shop)
    first, second, third = learning("c-1", 10), learning("c-2", 10), learning("c-3", 30)
    write(shop, first, second, third)
    later = T0 + timedelta(days=7)
    write(
        shop,
        first.validated(later, ["cycle:c-2", "action:c-2-a"], 0.17),
        second.refuted(later, ["cycle:c-3", "action:c-3-a"], 0.01),
    )

    everything = ok("-w", w, "learnings")
    validated = ok("-w", w, "learnings", "--status", "validated")
    refuted = ok("-w", w, "learnings", "--status", "refuted", "--cycle", "c-2")
    proposed = ok("-w", w, "learnings", "--status", "proposed")
    none = ok("-w", w, "learnings", "--status", "refuted", "--cycle", "c-1")
    table = run("-w", w, "learnings", "--status", "validated")

    assert {lr["id"]: lr["status"] for lr in everything} == {
        first.id: "validated",
        second.id: "refuted",
        third.id: "proposed",
    }
    assert [lr["id"] for lr in validated] == [first.id]
    assert validated[0]["evidence"] == ["action:c-1-a", "cycle:c-2", "action:c-2-a"]
    assert validated[0]["reviewed_at"] == later.isoformat()
    assert [lr["id"] for lr in refuted] == [second.id]
    assert [lr["id"] for lr in proposed] == [third.id]
    assert proposed[0]["reviewed_at"] is None
    assert none == []
    assert table.exit_code == 0, table.output
    assert "validated" in table.stdout
    assert "c-2:cell" not in table.stdout


def test_an_unknown_status_is_an_input_error_naming_the_option(shop: Path) -> None:
    result = run("-w", str(shop), "learnings", "--status", "maybe")

    assert result.exit_code == 2
    assert "--status" in result.output
    assert "'maybe' is not one of" in result.output

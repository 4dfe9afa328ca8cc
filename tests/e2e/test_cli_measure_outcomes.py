"""``mios measure import`` and ``mios measure kpis`` on a real workspace."""

from __future__ import annotations

import json
from pathlib import Path

from mios.bootstrap import open_governance, open_outcomes
from mios.config import Settings
from tests.support.cli import ok, run
from tests.support.market import send

HEADER = "id,kind,at,action_id,channel,value,count,attributes"
ROWS = [
    "o1,delivered,2026-11-02T09:00:00Z,a1,email,,1000,",
    "o2,conversion,2026-11-02T10:00:00Z,a1,email,200.00,4,",
    "o3,spend,2026-11-02T09:00:00Z,a1,email,25.00,1,",
    "o4,unsubscribe,2026-11-02T11:00:00Z,a1,email,,9,",
    "o5,conversion,2026-11-02T12:00:00Z,,,80.00,2,",
    'o6,spend,2026-11-03T12:00:00Z,,paid_search,3000.00,1,"{""note"": ""daily""}"',
]
UNTIL = "2026-11-04T00:00:00Z"


def known_action(shop: Path) -> None:
    governance = open_governance(shop, Settings())
    try:
        governance.store.save_action(send("a1", segment="loyal"))
    finally:
        governance.close()


def csv_file(tmp_path: Path, *rows: str, name: str = "outcomes.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def stored(shop: Path) -> int:
    store = open_outcomes(shop, Settings())
    try:
        return store.count()
    finally:
        store.close()


def test_import_stores_each_outcome_once(shop: Path, tmp_path: Path) -> None:
    known_action(shop)
    path = csv_file(tmp_path, *ROWS)
    first = ok("-w", str(shop), "measure", "import", str(path))
    assert first == {
        "file": str(path),
        "rows": 6,
        "outcomes": 6,
        "repeated_in_file": 0,
        "new": 6,
        "already_stored": 0,
    }
    again = ok("-w", str(shop), "measure", "import", str(path))
    assert (again["new"], again["already_stored"]) == (0, 6)
    assert stored(shop) == 6
    plain = run("-w", str(shop), "measure", "import", str(path))
    assert plain.exit_code == 0
    assert "0 new outcomes, 6 already stored" in plain.stdout


def test_an_outcome_for_an_unknown_action_is_refused_and_nothing_is_stored(
    shop: Path, tmp_path: Path
) -> None:
    known_action(shop)
    path = csv_file(tmp_path, *ROWS, "o7,open,2026-11-02T09:30:00Z,ghost,email,,1,")
    result = run("-w", str(shop), "measure", "import", str(path))
    assert result.exit_code == 2
    assert f"{path}:8, action_id: no action 'ghost' is known" in result.output
    assert "nothing was imported" in result.output
    assert stored(shop) == 0


def test_a_malformed_file_exits_2_naming_line_and_column(shop: Path, tmp_path: Path) -> None:
    path = csv_file(tmp_path, "o1,delivered,not-a-time,,email,,1,", "o2,open,2026-11-02T09:00:00Z")
    result = run("-w", str(shop), "measure", "import", str(path))
    assert result.exit_code == 2
    assert f"{path}:2, at:" in result.output
    assert f"{path}:3: expected 8 cells, got 3" in result.output
    assert stored(shop) == 0


def test_kpis_roll_up_the_imported_outcomes(shop: Path, tmp_path: Path) -> None:
    known_action(shop)
    ok("-w", str(shop), "measure", "import", str(csv_file(tmp_path, *ROWS)))
    report = ok("-w", str(shop), "measure", "kpis", "--until", UNTIL, "--days", "7")
    assert report["currency"] == "USD"
    assert report["totals"]["revenue"] == "280.00"
    assert report["totals"]["spend"] == "3025.00"
    assert report["kpis"]["conversions"] == 6
    assert report["kpis"]["unsubscribe_rate"] == 0.009
    assert report["target"]["kpi"] == "profit"
    assert report["target"]["prorated"] is True
    assert set(report["by_channel"]) == {"email", "paid_search", "unattributed"}
    assert any(b["kpi"] == "unsubscribe_rate" for b in report["breaches"])
    pacing = {p["channel"]: p for p in report["pacing"]}
    assert pacing["paid_search"]["spent"] == "3000.00"
    assert pacing["email"]["spent"] == "25.00"
    assert {p["status"] for p in pacing.values()} <= {"on_pace", "behind", "ahead"}
    table = run("-w", str(shop), "measure", "kpis", "--until", UNTIL)
    assert table.exit_code == 0, table.output
    assert "unsubscribe_rate" in table.stdout
    assert "Budget pacing" in table.stdout


def test_kpis_refuse_a_time_without_an_offset(shop: Path) -> None:
    result = run("-w", str(shop), "measure", "kpis", "--until", "2026-11-04T00:00:00")
    assert result.exit_code == 2
    assert "--until" in result.output


def test_a_folder_without_a_workspace_is_refused(tmp_path: Path) -> None:
    path = csv_file(tmp_path, *ROWS)
    result = run("-w", str(tmp_path / "nowhere"), "measure", "import", str(path))
    assert result.exit_code == 2
    assert "no workspace here" in result.output


def test_every_command_shows_an_example() -> None:
    for command in ("import", "kpis"):
        result = run("measure", command, "--help")
        assert result.exit_code == 0
        assert "Example: mios -w shop measure" in result.stdout


def test_top_level_json_works_too(shop: Path, tmp_path: Path) -> None:
    known_action(shop)
    path = csv_file(tmp_path, *ROWS[:1])
    result = run("-w", str(shop), "--json", "measure", "import", str(path))
    assert result.exit_code == 0
    assert json.loads(result.stdout)["new"] == 1

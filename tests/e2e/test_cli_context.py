"""The ``mios`` command line, end to end: real files, a real database, real exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from mios.cli.app import app

SMALL = "300"


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    settings = {"MIOS_DATABASE_URL": "", "COLUMNS": "200", **(env or {})}
    return CliRunner().invoke(app, list(args), env=settings)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small example workspace, copied per test (generating it is the slow part)."""
    root = tmp_path_factory.mktemp("template") / "shop"
    result = run("init", str(root), "--customers", SMALL, "--seed", "3")
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def shop(template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "shop"
    shutil.copytree(template, target)
    return target


def show(root: Path, *extra: str) -> dict[str, object]:
    result = run("-w", str(root), "context", "show", "--json", *extra)
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def head(root: Path) -> int:
    result = run("-w", str(root), "context", "history", "--json")
    assert result.exit_code == 0, result.output
    return int(json.loads(result.stdout)[0]["version"])


def test_init_json_names_the_folder(tmp_path: Path) -> None:
    result = run("--json", "init", str(tmp_path / "j"), "--customers", "20")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["path"] == str(tmp_path / "j")
    assert data["workspace"]["config"]["workspace"]["name"] == "Northwind Outfitters"


def test_init_then_show_prints_the_workspace(shop: Path) -> None:
    data = show(shop)
    assert data["version"] == 1
    customers = data["customers"]
    assert isinstance(customers, dict)
    assert customers["count"] == int(SMALL)
    assert set(customers["regions"]) == {"US", "EU", "CA"}
    workspace = data["workspace"]
    assert isinstance(workspace, dict)
    assert set(workspace["config"]["budgets"]) == {
        "email",
        "sms",
        "paid_search",
        "paid_social",
        "display",
        "content",
    }
    segments = data["segments"]
    assert isinstance(segments, dict)
    assert segments
    assert all(0 <= size <= int(SMALL) for size in segments.values())


def test_show_renders_tables_for_people(shop: Path) -> None:
    result = run("-w", str(shop), "context", "show")
    assert result.exit_code == 0, result.output
    assert "context version 1" in result.stdout
    assert "Budgets" in result.stdout
    assert "Segments" in result.stdout


def test_the_default_example_has_fifty_thousand_customers(tmp_path: Path) -> None:
    """The issue's 'done when', through the installed console script."""
    mios = Path(sys.executable).parent / "mios"
    root = tmp_path / "w"
    env = {"PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path)}
    init = subprocess.run(
        [mios, "init", root], capture_output=True, text=True, check=False, env=env
    )
    assert init.returncode == 0, init.stderr
    shown = subprocess.run(
        [mios, "-w", root, "context", "show", "--json"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["customers"]["count"] == 50_000
    assert data["history"]["weeks"] == 104
    assert (root / ".mios" / "mios.db").is_file()


def test_init_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = run("init", str(tmp_path), "--customers", "10")
    assert result.exit_code == 2
    assert "not empty" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_init_refuses_an_unknown_example(tmp_path: Path) -> None:
    result = run("init", str(tmp_path / "w"), "--example", "bakery")
    assert result.exit_code == 2
    assert "bakery" in result.stderr
    assert not (tmp_path / "w").exists()
    assert list(tmp_path.iterdir()) == []  # no staging folder left behind


def test_import_customers_adds_a_version(shop: Path, tmp_path: Path) -> None:
    csv = tmp_path / "new.csv"
    csv.write_text(
        "customer_id,region,country,time_zone,consent_email,basis_email,lifetime_value\n"
        "N1,US,US,America/Chicago,granted,consent,120.5\n"
        "N2,EU,DE,Europe/Berlin,denied,,80\n"
    )
    result = run("-w", str(shop), "context", "import", "customers", str(csv), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["version"] == 2
    data = show(shop)
    assert data["customers"]["count"] == int(SMALL) + 2  # type: ignore[index]
    assert show(shop, "--version", "1")["customers"]["count"] == int(SMALL)  # type: ignore[index]


def test_a_broken_row_stops_the_import_and_names_its_line(shop: Path, tmp_path: Path) -> None:
    csv = tmp_path / "broken.csv"
    csv.write_text(
        "customer_id,region,country,time_zone\n"
        "N1,US,US,America/Chicago\n"
        "N2,US,US\n"
        "N3,US,US,America/Chicago\n"
    )
    result = run("-w", str(shop), "context", "import", "customers", str(csv))
    assert result.exit_code == 2
    assert f"{csv}:3" in result.stderr
    assert "nothing was imported" in result.stderr
    assert head(shop) == 1


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ("C0000001,US,US,America/Chicago,granted,consent", "customer_id"),  # duplicate id
        ("N1,US,US,America/Chicago,maybe,consent", "consent_email"),
        ("N1,EU,DE,Europe/Berlin,granted,", "basis_email"),
        ("N1,US,US,Mars/Olympus,granted,consent", "time_zone"),
    ],
)
def test_invalid_values_are_refused_by_line_and_column(
    shop: Path, tmp_path: Path, row: str, column: str
) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text(
        "customer_id,region,country,time_zone,consent_email,basis_email\n"
        "C0000001,US,US,America/Chicago,granted,consent\n"
        f"{row}\n"
    )
    result = run("-w", str(shop), "context", "import", "customers", str(csv))
    assert result.exit_code == 2, result.output
    assert f"{csv}:3, {column}" in result.stderr
    assert head(shop) == 1


def test_skip_invalid_imports_the_good_rows_and_reports_the_rest(
    shop: Path, tmp_path: Path
) -> None:
    csv = tmp_path / "mixed.csv"
    csv.write_text(
        "customer_id,region,country,time_zone,consent_sms,basis_sms\n"
        "N1,US,US,America/Chicago,granted,consent\n"
        "N2,US,US,America/Chicago,yes please,consent\n"
        "N3,CA,CA,America/Toronto,unknown,\n"
    )
    result = run(
        "-w", str(shop), "context", "import", "customers", str(csv), "--skip-invalid", "--json"
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["imported"] == 2
    assert report["skipped"] == 1
    assert f"{csv}:3, consent_sms" in report["problems"][0]
    assert show(shop)["customers"]["count"] == int(SMALL) + 2  # type: ignore[index]


def test_sync_records_an_edited_workspace_once(shop: Path) -> None:
    config = shop / "mios.yaml"
    text = config.read_text()
    config.write_text(text.replace("horizon_days:", "horizon_days: 120 #", 1))
    result = run("-w", str(shop), "context", "sync", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "changed": True,
        "version": 2,
        "parts": ["workspace"],
        "governance": None,
    }
    again = run("-w", str(shop), "context", "sync", "--json")
    assert json.loads(again.stdout)["changed"] is False
    objective = show(shop)["workspace"]["config"]["objective"]  # type: ignore[index]
    assert objective["horizon_days"] == 120


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda t: t.replace("objective:", "objective: [\n", 1), "mios.yaml:"),
        (lambda t: t.replace("brand:\n", "brand:\n  colour: teal\n", 1), "brand.colour"),
        (
            lambda t: t.replace("horizon_days:", "horizon_days: ninety #", 1),
            "objective.horizon_days",
        ),
        (lambda t: t + "\nworkspace: {name: twice}\n", "appears twice"),
        (
            lambda t: t.replace("primary_kpi:", "primary_kpi: happiness #", 1),
            "objective.primary_kpi",
        ),
    ],
    ids=["malformed-yaml", "unknown-field", "wrong-type", "duplicate-key", "bad-enum"],
)
def test_a_bad_workspace_file_is_refused_and_nothing_is_written(
    shop: Path, mutate: object, expected: str
) -> None:
    config = shop / "mios.yaml"
    config.write_text(mutate(config.read_text()))  # type: ignore[operator]
    result = run("-w", str(shop), "context", "sync")
    assert result.exit_code == 2, result.output
    assert expected in result.stderr
    assert "mios.yaml" in result.stderr
    assert head(shop) == 1


def test_a_bad_history_row_names_its_file_and_line(shop: Path) -> None:
    history = next((shop / "data" / "history").glob("*.csv"))
    lines = history.read_text().splitlines()
    fields = lines[3].split(",")
    fields[2] = "-5"  # spend
    lines[3] = ",".join(fields)
    history.write_text("\n".join(lines) + "\n")
    result = run("-w", str(shop), "context", "sync")
    assert result.exit_code == 2
    assert f"data/history/{history.name}:4, spend" in result.stderr
    assert head(shop) == 1


def test_history_lists_versions_newest_first(shop: Path, tmp_path: Path) -> None:
    csv = tmp_path / "one.csv"
    csv.write_text("customer_id,region,country,time_zone\nZ1,US,US,America/Denver\n")
    assert run("-w", str(shop), "context", "import", "customers", str(csv)).exit_code == 0
    result = run("-w", str(shop), "--json", "context", "history")
    records = json.loads(result.stdout)
    assert [r["version"] for r in records] == [2, 1]
    assert records[0]["reason"] == "import customers from one.csv"
    assert records[0]["actor"].startswith("cli:")
    assert records[1]["parts"] == ["workspace", "customers", "history"]
    table = run("-w", str(shop), "context", "history")
    assert "import customers from one.csv" in table.stdout


def test_an_unknown_version_is_bad_input(shop: Path) -> None:
    result = run("-w", str(shop), "context", "show", "--version", "9")
    assert result.exit_code == 2
    assert "--version: no context version 9 (versions: 1..1)" in result.stderr


@pytest.mark.parametrize("text", ["[/x]", "[bold]loud[/bold]", "[link=x]"])
def test_brackets_in_user_values_print_as_written(shop: Path, tmp_path: Path, text: str) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text(f"customer_id,region,country,time_zone,consent_email\nN1,US,US,UTC,{text}\n")
    result = run("-w", str(shop), "context", "import", "customers", str(csv))
    assert result.exit_code == 2
    assert repr(text) in result.stderr
    config = shop / "mios.yaml"
    config.write_text(
        config.read_text().replace("name: Northwind Outfitters", f"name: 'N {text}'", 1)
    )
    assert run("-w", str(shop), "context", "sync").exit_code == 0
    shown = run("-w", str(shop), "context", "show")
    assert shown.exit_code == 0, shown.output
    assert f"N {text}" in shown.stdout


def test_reading_a_workspace_without_a_context_creates_nothing(shop: Path) -> None:
    shutil.rmtree(shop / ".mios")
    for command in (["context", "show"], ["context", "history"]):
        result = run("-w", str(shop), *command)
        assert result.exit_code == 2
        assert "context sync" in result.stderr
    assert not (shop / ".mios").exists()
    assert run("-w", str(shop), "context", "sync").exit_code == 0
    assert show(shop)["version"] == 1


def test_a_folder_without_a_workspace_is_bad_input(tmp_path: Path) -> None:
    result = run("-w", str(tmp_path), "context", "show")
    assert result.exit_code == 2
    assert "mios init" in result.stderr


def test_a_database_that_does_not_connect_exits_1(shop: Path) -> None:
    url = "postgresql+psycopg://mios:secret@127.0.0.1:1/none"
    result = run("-w", str(shop), "context", "show", env={"MIOS_DATABASE_URL": url})
    assert result.exit_code == 1
    assert "cannot reach" in result.stderr
    assert "secret" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_init_and_show_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    env = {"MIOS_DATABASE_URL": pg_url}
    root = tmp_path / "pg"
    assert run("init", str(root), "--customers", "200", env=env).exit_code == 0
    result = run("-w", str(root), "context", "show", "--json", env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["customers"]["count"] == 200
    assert not (root / ".mios").exists()  # the context lives in PostgreSQL
    again = run("init", str(tmp_path / "second"), "--customers", "10", env=env)
    assert again.exit_code == 1
    assert "already holds a context" in again.stderr
    assert not (tmp_path / "second").exists()


def test_version_prints_json() -> None:
    result = run("version", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["version"]


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["init"],
        ["context"],
        ["context", "show"],
        ["context", "sync"],
        ["context", "history"],
        ["context", "import", "customers"],
        ["version"],
    ],
)
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout


def test_help_loads_no_heavy_library() -> None:
    """``mios --help`` stays instant: the data stack loads only inside commands."""
    code = (
        "import sys, mios.cli.app; "
        "heavy = {'numpy', 'sqlalchemy', 'pydantic', 'alembic', 'yaml'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_init_fills_the_current_folder_without_replacing_it(tmp_path: Path) -> None:
    here = tmp_path / "here"
    here.mkdir()
    inode = here.stat().st_ino
    mios = Path(sys.executable).parent / "mios"
    done = subprocess.run(
        [mios, "init", ".", "--customers", "30"],
        cwd=here,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert here.stat().st_ino == inode  # the shell's folder is the same folder
    assert (here / "mios.yaml").is_file()
    assert show(here)["customers"]["count"] == 30  # type: ignore[index]


def test_init_through_a_symlink_and_a_dotted_path(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    assert run("init", str(tmp_path / "link"), "--customers", "10").exit_code == 0
    assert (real / "mios.yaml").is_file()
    other = tmp_path / "other"
    other.mkdir()
    assert run("init", str(other / ".." / "other"), "--customers", "10").exit_code == 0
    assert (other / "mios.yaml").is_file()


def test_init_refuses_a_file(tmp_path: Path) -> None:
    target = tmp_path / "afile"
    target.write_text("x")
    result = run("init", str(target))
    assert result.exit_code == 2
    assert "is a file" in result.stderr


def test_init_gives_the_workspace_ordinary_permissions(tmp_path: Path) -> None:
    import os

    mask = os.umask(0)
    os.umask(mask)
    assert run("init", str(tmp_path / "p"), "--customers", "10").exit_code == 0
    assert (tmp_path / "p").stat().st_mode & 0o777 == 0o777 & ~mask


def test_init_clears_staging_left_by_a_killed_init(tmp_path: Path) -> None:
    abandoned = tmp_path / ".mios-init-999999999-abc"  # no such process
    (abandoned / "data").mkdir(parents=True)
    assert run("init", str(tmp_path / "w"), "--customers", "10").exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w"]


def test_an_import_that_would_break_a_segment_is_refused(shop: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain.csv"
    plain.write_text("customer_id,region,country,time_zone\nP1,US,US,UTC\n")
    result = run("-w", str(shop), "context", "import", "customers", str(plain), "--replace")
    assert result.exit_code == 2
    assert "segment" in result.stderr
    assert "nothing was imported" in result.stderr
    text_value = tmp_path / "text.csv"
    text_value.write_text("customer_id,region,country,time_zone,lifetime_value\nP1,US,US,UTC,n/a\n")
    result = run("-w", str(shop), "context", "import", "customers", str(text_value))
    assert result.exit_code == 2
    assert "holds text" in result.stderr
    assert head(shop) == 1


def test_settings_read_back_as_loaded_so_sync_settles(shop: Path) -> None:
    config = shop / "mios.yaml"
    original = config.read_text()
    dated = "  content: {enabled: true, settings: {since: 2024-01-01, days: [2025-05-05]}}"
    config.write_text(original.replace("  content: {enabled: true}", dated, 1))
    first = run("-w", str(shop), "context", "sync", "--json")
    assert json.loads(first.stdout)["changed"] is True
    again = run("-w", str(shop), "context", "sync", "--json")
    assert json.loads(again.stdout)["changed"] is False  # nothing lost in the round trip
    settings = show(shop)["workspace"]["config"]["agents"]["content"]["settings"]  # type: ignore[index]
    assert settings == {"since": "2024-01-01", "days": ["2025-05-05"]}
    infinite = "  content: {enabled: true, settings: {big: .inf}}"
    config.write_text(original.replace("  content: {enabled: true}", infinite, 1))
    bad = run("-w", str(shop), "context", "sync")
    assert bad.exit_code == 2
    assert "agents.content.settings" in bad.stderr
    assert "finite" in bad.stderr

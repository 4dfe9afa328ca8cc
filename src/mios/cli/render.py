"""Rich renderings of context summaries for people (scripts use ``--json``)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from mios.cli.output import stdout
from mios.context.store import ChangeRecord


def render_init(root: Path, summary: dict[str, Any]) -> None:
    workspace = summary["workspace"]
    name = workspace["config"]["workspace"]["name"]
    stdout.print(
        Text.assemble("Wrote the example workspace ", (name, "bold"), f" to {root}:"),
        highlight=False,
    )
    stdout.print(
        f"  {summary['customers']['count']:,} customers, {len(summary['segments'])} segments, "
        f"{len(workspace['offers'])} offers, {summary['policies']} policy rules, "
        f"{len(summary['playbooks'])} playbooks, {summary['history']['weeks']} weeks of "
        f"channel history.",
        markup=False,
    )
    stdout.print(f"Loaded it as shared context version {summary['version']}.")
    stdout.print(f"Next: mios -w {root} context show", markup=False)


def render_context(summary: dict[str, Any], record: ChangeRecord | None) -> None:
    config = summary["workspace"]["config"]
    info, objective, brand = config["workspace"], config["objective"], config["brand"]
    stdout.print(
        Text.assemble((info["name"], "bold"), f"  context version {summary['version']}"),
        highlight=False,
    )
    if record is not None:
        stdout.print(
            f"written {record.at:%Y-%m-%d %H:%M} UTC by {record.actor}: {record.reason}",
            markup=False,
        )
    guardrails = ", ".join(
        f"{g['kpi']} {'<=' if g['max'] is not None else '>='} "
        f"{g['max'] if g['max'] is not None else g['min']}"
        for g in objective["guardrails"]
    )
    stdout.print(
        f"\nObjective: {objective['primary_kpi']} target {objective['target']:,.10g} over "
        f"{objective['horizon_days']} days; guardrails: {guardrails or 'none'}",
        markup=False,
    )
    stdout.print(
        f"Brand: {brand['name']}; {len(brand['claims'])} substantiated claims, "
        f"{len(brand['banned_terms'])} banned terms, voice: {', '.join(brand['voice']['tone'])}",
        markup=False,
    )

    customers = summary["customers"]
    count = customers["count"]
    regions = ", ".join(f"{k} {v / count:.0%}" for k, v in customers["regions"].items())
    consent = ", ".join(f"{k} {v:.0%}" for k, v in customers["consent_granted_share"].items())
    stdout.print(
        f"Customers: {count:,} ({regions or 'none'}); {customers['suppressed']:,} suppressed",
        markup=False,
    )
    stdout.print(f"Consent granted: {consent}", markup=False)

    currency = config["workspace"]["currency"]
    budgets = Table(title=f"Budgets ({currency}, this period)", title_justify="left")
    for column in ("channel", "period", "budget", "committed", "spent", "available"):
        budgets.add_column(column, justify="left" if column in ("channel", "period") else "right")
    for b in summary["budgets"]:
        budgets.add_row(
            b["channel"],
            b["period"],
            *(f"{Decimal(b[k]):,.2f}" for k in ("budget", "committed", "spent", "available")),
        )  # channel and period are enum values: no markup possible
    stdout.print(budgets)

    segments = Table(title="Segments", title_justify="left")
    segments.add_column("segment")
    segments.add_column("name")
    segments.add_column("customers", justify="right")
    names = {s["id"]: s for s in config["segments"]}
    for segment_id, size in summary["segments"].items():
        sensitive = " (sensitive)" if names[segment_id]["sensitive"] else ""
        segments.add_row(Text(segment_id), Text(names[segment_id]["name"] + sensitive), f"{size:,}")
    stdout.print(segments)

    history = summary["history"]
    offers = summary["workspace"]["offers"]
    stdout.print(f"Offers: {len(offers)} ({', '.join(o['id'] for o in offers)})", markup=False)
    if history["weeks"]:
        stdout.print(
            f"Channel history: {history['weeks']} weeks x {len(history['channels'])} channels, "
            f"{history['first_week']} to {history['last_week']}",
            markup=False,
        )
    stdout.print(
        f"Policies: {summary['policies']} rules; playbooks: "
        f"{', '.join(summary['playbooks']) or 'none'}; learnings: {summary['learnings']}",
        markup=False,
    )


_CHANGE_WORDS = {
    "customers_replaced": "{:,} customers (replaced all)",
    "customers_upserted": "{:,} customers added or updated",
    "customers_removed": "{:,} customers removed",
    "history_weeks": "{:,} channel-weeks of history",
    "ledger_entries": "{:,} ledger entries",
    "learnings": "{:,} learnings",
}


def describe_change(record: ChangeRecord) -> str:
    """What a version changed, in words: the workspace, then counts from the summary."""
    parts = ["workspace"] if "workspace" in record.parts else []
    parts += [_CHANGE_WORDS.get(k, k + ": {:,}").format(v) for k, v in record.summary.items()]
    return "; ".join(parts) or ", ".join(record.parts)


def render_history(records: list[ChangeRecord]) -> None:
    table = Table(title="Context versions", title_justify="left")
    table.add_column("version", justify="right", no_wrap=True)
    table.add_column("at (UTC)", no_wrap=True)
    table.add_column("actor")
    table.add_column("reason")
    table.add_column("changed")
    for r in records:
        table.add_row(
            str(r.version),
            f"{r.at:%Y-%m-%d %H:%M}",
            Text(r.actor),
            Text(r.reason),
            Text(describe_change(r)),
        )
    stdout.print(table)

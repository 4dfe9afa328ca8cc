"""Load a workspace folder into its spec, channel history and customers, checking everything.

    <workspace>/
      mios.yaml               brand, objective, budgets, channels, segments, agents, autonomy
      policies/*.yaml         policy packs
      playbooks/*.yaml        playbooks
      data/offers.yaml        offers
      data/customers.csv      customers (see ``customers_csv``)
      data/history/*.csv      weekly channel history

Loading only reads. Any problem raises ``WorkspaceError`` naming the file, line and field; the
caller writes to the context only after the whole folder loaded.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from mios.context.conditions import compile_condition
from mios.context.customers_csv import Progress, parse_workers, read_customers_csv
from mios.context.spec import (
    OffersFileSpec,
    OfferSpec,
    PlaybookSpec,
    PolicyFileSpec,
    WorkspaceFileSpec,
    WorkspaceSpec,
)
from mios.context.translate import build_workspace, offer, parse_rule, playbook, policy_pack
from mios.context.yaml_source import YamlDocument, dotted, read_yaml, validated
from mios.domain.channel import ChannelName
from mios.domain.customer_table import CustomerTable
from mios.domain.history import ChannelHistory, ChannelWeek
from mios.domain.money import Money, to_decimal
from mios.domain.segment import Segment
from mios.errors import DomainError, WorkspaceError

CONFIG_FILE = "mios.yaml"
_COUNT = re.compile(r"[0-9]+")  # ASCII digits only: int() would also take "١٢" or "1_000"
_AMOUNT = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,6})?")
HISTORY_COLUMNS = ("week", "channel", "spend", "impressions", "clicks", "conversions", "revenue")
SpecT = TypeVar("SpecT", bound=BaseModel)


@dataclass(frozen=True)
class LoadedWorkspace:
    root: Path
    spec: WorkspaceSpec
    history: ChannelHistory
    customers: CustomerTable | None  # None when data/customers.csv is absent


def load_workspace(
    root: Path,
    *,
    with_customers: bool = True,
    progress: Progress | None = None,
    parallel: bool = False,
) -> LoadedWorkspace:
    """Read and check the whole folder. ``parallel`` lets a large customers file be parsed on
    every core (only for guarded ``__main__`` programs; see ``read_customers_csv``)."""
    if not root.is_dir():
        raise WorkspaceError.at("not a workspace folder (it does not exist)", file=str(root))
    config_path = root / CONFIG_FILE
    if not config_path.is_file():
        raise WorkspaceError.at(
            f"no {CONFIG_FILE} here; create one with: mios init {root}", file=str(config_path)
        )
    config_document = read_yaml(config_path, _shown(root, config_path))
    config = _validated(config_document, WorkspaceFileSpec)
    currency = config.workspace.currency
    for i, segment_spec in enumerate(config.segments):
        _check_rule(config_document, i, segment_spec.rule)
    offers_path = root / "data" / "offers.yaml"
    offers: list[OfferSpec] = []
    offers_document: YamlDocument | None = None
    if offers_path.is_file():
        offers_document = read_yaml(offers_path, _shown(root, offers_path))
        offers = _validated(offers_document, OffersFileSpec).offers
        for i, item in enumerate(offers):
            _in_domain(offers_document, ("offers", i), partial(offer, item, currency))
    policies: dict[str, PolicyFileSpec] = {}
    for path in _yaml_files(root / "policies"):
        document = read_yaml(path, _shown(root, path))
        pack = policies[path.stem] = _validated(document, PolicyFileSpec)
        _in_domain(document, ("rules",), partial(policy_pack, pack))
        _check_conditions(document, pack)
    playbooks: dict[str, PlaybookSpec] = {}
    for path in _yaml_files(root / "playbooks"):
        document = read_yaml(path, _shown(root, path))
        book = playbooks[path.stem] = _validated(document, PlaybookSpec)
        _in_domain(document, (), partial(playbook, book))
    _check_references(config_document, config, offers_document, offers)
    spec = WorkspaceSpec(config=config, offers=offers, policies=policies, playbooks=playbooks)
    try:
        workspace = build_workspace(spec)
    except DomainError as exc:
        raise WorkspaceError.at(str(exc), file=config_document.file) from exc
    history = read_history(root / "data" / "history", root, currency)
    customers_path = root / "data" / "customers.csv"
    customers = None
    if with_customers and customers_path.is_file():
        customers = read_customers_csv(
            customers_path,
            display=_shown(root, customers_path),
            progress=progress,
            workers=parse_workers(customers_path) if parallel else 1,
        ).table
        for i, segment in enumerate(workspace.segments):
            # A rule naming a column the customers lack fails here, not in the middle of a cycle.
            _check_segment(config_document, i, segment, customers)
    return LoadedWorkspace(root, spec, history, customers)


def _check_conditions(document: YamlDocument, pack: PolicyFileSpec) -> None:
    for i, rule in enumerate(pack.rules):
        try:
            compile_condition(rule.when)
        except ValueError as exc:
            raise WorkspaceError.at(
                f"rule {rule.id}: {exc}",
                file=document.file,
                line=document.line_of(("rules", i, "when")),
                field=f"rules[{i}].when",
            ) from None


def _check_references(
    config_document: YamlDocument,
    config: WorkspaceFileSpec,
    offers_document: YamlDocument | None,
    offers: list[OfferSpec],
) -> None:
    """Names that must exist elsewhere, blamed on the line that names them."""
    segments = {s.id for s in config.segments}
    offer_ids = {o.id for o in offers}
    for i, item in enumerate(offers):
        for j, name in enumerate(item.eligible_segments):
            if name not in segments and offers_document is not None:
                _unknown(offers_document, ("offers", i, "eligible_segments", j), "segment", name)
    for i, campaign in enumerate(config.campaigns):
        for j, name in enumerate(campaign.segments):
            if name not in segments:
                _unknown(config_document, ("campaigns", i, "segments", j), "segment", name)
        if campaign.offer and campaign.offer not in offer_ids:
            _unknown(config_document, ("campaigns", i, "offer"), "offer", campaign.offer)
    configured = set(config.channels)
    for channel in config.budgets:
        if channel not in configured:
            raise WorkspaceError.at(
                f"a budget for {channel}, which has no entry under channels",
                file=config_document.file,
                line=config_document.line_of(("budgets", channel)),
                field=f"budgets.{channel}",
            )


def _check_rule(document: YamlDocument, index: int, rule: Any) -> None:
    path: tuple[str | int, ...] = ("segments", index, "rule")
    _in_domain(document, path, lambda: parse_rule(rule, dotted(path)))


def _check_segment(
    document: YamlDocument, index: int, segment: Segment, customers: CustomerTable
) -> None:
    _in_domain(document, ("segments", index, "rule"), lambda: segment.mask(customers))


def _unknown(document: YamlDocument, path: tuple[str | int, ...], what: str, name: str) -> None:
    raise WorkspaceError.at(
        f"unknown {what} {name!r}",
        file=document.file,
        line=document.line_of(path),
        field=dotted(path),
    )


def _in_domain(
    document: YamlDocument, path: tuple[str | int, ...], build: Callable[[], Any]
) -> None:
    """Run the domain's own checks on one part of a file, blaming that file and place."""
    try:
        build()
    except DomainError as exc:
        raise WorkspaceError.at(
            str(exc), file=document.file, line=document.line_of(path), field=dotted(path) or None
        ) from exc


def _validated(document: YamlDocument, model: type[SpecT]) -> SpecT:
    return validated(document, model, WorkspaceError)


def _yaml_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


def _shown(root: Path, path: Path) -> str:
    """Paths in messages as the user knows them: relative to the workspace when inside it."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def read_history(folder: Path, root: Path, currency: str) -> ChannelHistory:
    """Every ``*.csv`` under ``data/history``: one row per channel and week."""
    weeks: list[ChannelWeek] = []
    seen: dict[tuple[date, ChannelName], str] = {}
    if not folder.is_dir():
        return ChannelHistory()
    for path in sorted(folder.glob("*.csv")):
        shown = _shown(root, path)
        for line, row in _csv_rows(path, shown, HISTORY_COLUMNS):
            week = _history_week(row, currency, shown, line)
            key = (week.week, week.channel)
            if key in seen:
                raise WorkspaceError.at(
                    f"{week.channel} week {week.week} already given at {seen[key]}",
                    file=shown,
                    line=line,
                )
            seen[key] = f"{shown}:{line}"
            weeks.append(week)
    return ChannelHistory(tuple(weeks))


def _history_week(row: dict[str, str], currency: str, file: str, line: int) -> ChannelWeek:
    def field(name: str, parse: Callable[[str], Any], expected: str) -> Any:
        try:
            return parse(row[name].strip())
        except (ValueError, DomainError):
            raise WorkspaceError.at(
                f"invalid value {row[name]!r}; expected {expected}",
                file=file,
                line=line,
                field=name,
            ) from None

    def count(text: str) -> int:
        if not _COUNT.fullmatch(text):
            raise ValueError(text)
        return int(text)

    def amount(text: str) -> Money:
        if not _AMOUNT.fullmatch(text):
            raise ValueError(text)
        return Money(to_decimal(text), currency)

    week = field("week", date.fromisoformat, "a date like 2024-01-01")
    try:
        return ChannelWeek(
            week=week,
            channel=field("channel", ChannelName, f"one of {', '.join(ChannelName)}"),
            spend=field("spend", amount, "an amount >= 0"),
            impressions=field("impressions", count, "a whole number >= 0"),
            clicks=field("clicks", count, "a whole number >= 0"),
            conversions=field("conversions", count, "a whole number >= 0"),
            revenue=field("revenue", amount, "an amount >= 0"),
        )
    except DomainError as exc:
        raise WorkspaceError.at(str(exc), file=file, line=line) from exc


def _csv_rows(
    path: Path, shown: str, required: tuple[str, ...]
) -> list[tuple[int, dict[str, str]]]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            missing = [c for c in required if c not in header]
            if missing:
                raise WorkspaceError.at(
                    f"missing column(s): {', '.join(missing)}", file=shown, line=1
                )
            unknown = [c for c in header if c not in required]
            if unknown:
                raise WorkspaceError.at(
                    f"unknown column(s): {', '.join(unknown)}", file=shown, line=1
                )
            rows = []
            for row in reader:
                if None in row or any(v is None for v in row.values()):
                    raise WorkspaceError.at(
                        f"expected {len(header)} fields", file=shown, line=reader.line_num
                    )
                rows.append((reader.line_num, row))
            return rows
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise WorkspaceError.at(f"cannot read: {exc}", file=shown) from exc

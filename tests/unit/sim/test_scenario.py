"""Scenario files: the shipped ones load; every kind of bad input names its field and line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mios.domain.channel import ChannelName
from mios.errors import ScenarioError
from mios.sim.scenario import SHIPPED, load_scenario, shipped_scenarios


def test_the_three_shipped_scenarios_load() -> None:
    assert shipped_scenarios() == ("b2b-pipeline", "retail-holiday", "subscription-retention")
    for name in shipped_scenarios():
        scenario = load_scenario(name)
        assert scenario.name == name
        assert scenario.population.customers > 0
        assert ChannelName.EMAIL in scenario.channel_names


def test_a_scenario_loads_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text((SHIPPED / "retail-holiday.yaml").read_text())
    assert load_scenario(path).name == "retail-holiday"
    assert load_scenario(str(path)).population.customers == 100_000


def test_season_follows_the_weekly_pattern_and_peaks() -> None:
    retail = load_scenario("retail-holiday")
    assert retail.season(1) / retail.season(0) == pytest.approx(1.05, rel=0.01)  # Tue vs Mon
    black_friday = 25  # 2026-11-27
    assert retail.season(black_friday) > 2 * retail.season(black_friday - 14)


def edited(tmp_path: Path, change: Callable[[str], str]) -> Path:
    original = (SHIPPED / "retail-holiday.yaml").read_text()
    text = change(original)
    assert text != original, "the edit must change the scenario"
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("change", "field", "needle", "message"),
    [
        (
            lambda t: t.replace("open_rate: 0.22", "open_rate: -0.1"),
            "channels.email.open_rate",
            "open_rate: -0.1",
            "greater than or equal to 0",
        ),
        (
            lambda t: t.replace("  content: {cost_per_piece", "  tiktok: {cost_per_piece"),
            "channels",
            "channels:",
            "unknown channel 'tiktok'",
        ),
        (
            lambda t: t.replace("  customers: 100000\n", ""),
            "population.customers",
            "population:",
            "required field is missing",
        ),
        (
            lambda t: t.replace("{id: loyal, share: 0.15", "{id: loyal, share: 0.05"),
            "population",
            "population:",
            "segment shares add up to 0.9, not 1",
        ),
        (
            lambda t: t.replace("share: 0.55\n", "share: 0.65\n", 1),
            "population",
            "population:",
            "region shares add up to 1.1, not 1",
        ),
        (
            lambda t: t.replace("America/Chicago: 0.30", "Mars/Olympus: 0.30", 1),
            "population.regions.US.time_zones",
            "Mars/Olympus",
            "unknown IANA time zone",
        ),
        (
            lambda t: t.replace("responses: {loyal: 0.9}", "responses: {vip: 0.9}"),
            "",
            "",
            "names unknown segment 'vip'",
        ),
        (
            lambda t: t.replace("{kind: channel_outage, channel: sms,", "{kind: channel_outage,"),
            "shocks[1]",
            "channel_outage",
            "a channel_outage needs a channel",
        ),
        (
            lambda t: t.replace("noise: 0.10", "noise: .inf"),
            "noise",
            "noise:",
            "finite",
        ),
    ],
    ids=[
        "negative-rate",
        "unknown-channel",
        "missing-field",
        "segments-do-not-add-up",
        "regions-do-not-add-up",
        "bad-time-zone",
        "unknown-segment-reference",
        "outage-without-channel",
        "infinite-noise",
    ],
)
def test_bad_scenarios_name_the_field(
    tmp_path: Path, change: Callable[[str], str], field: str, needle: str, message: str
) -> None:
    path = edited(tmp_path, change)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    problem = caught.value.problems[0]
    assert message in problem.message
    assert problem.location.file == str(path)
    if field:
        assert problem.location.field == field
    if needle:
        assert problem.location.line == line_of(path, needle)


def test_malformed_yaml_is_a_scenario_error_with_a_line(tmp_path: Path) -> None:
    path = edited(tmp_path, lambda t: t.replace("noise: 0.10", "noise: [0.10"))
    with pytest.raises(ScenarioError, match="malformed YAML") as caught:
        load_scenario(path)
    assert caught.value.problems[0].location.line is not None


def test_an_unknown_scenario_lists_the_shipped_ones() -> None:
    with pytest.raises(ScenarioError, match="retail-holiday"):
        load_scenario("black-friday")


def test_shares_that_add_up_within_tolerance_still_split_exactly() -> None:
    from mios.sim.population import exact_counts

    for shares in ([0.3333334] * 3, [0.5000005, 0.5000004], [0.25] * 4):
        assert int(exact_counts(shares, 10_000_000).sum()) == 10_000_000


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("start: 2026-11-02", "start: 9999-12-25"), "start must be before"),
        (
            lambda t: t.replace(
                "{kind: channel_outage, channel: sms,",
                "{kind: channel_outage, channel: sms, response: 0.5,",
            ),
            "takes no response",
        ),
        (
            lambda t: t.replace(
                "{kind: competitor_promotion, start_day: 14,",
                "{kind: competitor_promotion, channel: email, start_day: 14,",
            ),
            "takes no channel",
        ),
    ],
)
def test_fields_that_would_be_ignored_or_overflow_are_refused(
    tmp_path: Path, change: Callable[[str], str], message: str
) -> None:
    with pytest.raises(ScenarioError, match=message):
        load_scenario(edited(tmp_path, change))

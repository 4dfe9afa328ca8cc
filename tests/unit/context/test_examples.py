"""The example workspaces that ``mios init`` writes load cleanly and hold realistic data."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from mios.context.examples import AS_OF, EXAMPLES, HISTORY_WEEKS, write_example
from mios.context.translate import build_workspace
from mios.context.workspace_files import LoadedWorkspace, load_workspace
from mios.domain.channel import CONSENT_CHANNELS, ChannelName
from mios.domain.customer import BASIS_CODES, CONSENT_CODES, ConsentStatus, LawfulBasis
from mios.domain.customer_table import CustomerTable
from mios.domain.workspace import Workspace
from mios.errors import InputError

SMALL = 2_000
SIX = (
    ChannelName.EMAIL,
    ChannelName.SMS,
    ChannelName.PAID_SEARCH,
    ChannelName.PAID_SOCIAL,
    ChannelName.DISPLAY,
    ChannelName.CONTENT,
)
GRANTED = CONSENT_CODES.index(ConsentStatus.GRANTED)


def written(root: Path, example: str, **options: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    write_example(root, example, **options)
    return root


def files_of(root: Path) -> dict[str, bytes]:
    paths = sorted(p for p in root.rglob("*") if p.is_file())
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in paths}


def customers_of(loaded: LoadedWorkspace) -> CustomerTable:
    assert loaded.customers is not None
    return loaded.customers


@pytest.fixture(scope="module", params=EXAMPLES)
def example(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(scope="module")
def loaded(example: str, tmp_path_factory: pytest.TempPathFactory) -> LoadedWorkspace:
    root = written(tmp_path_factory.mktemp(example), example, customers=SMALL)
    return load_workspace(root)


@pytest.fixture(scope="module")
def workspace(loaded: LoadedWorkspace) -> Workspace:
    return build_workspace(loaded.spec)


class TestFiles:
    def test_every_file_is_written(self, loaded: LoadedWorkspace) -> None:
        names = set(files_of(loaded.root))
        assert {"mios.yaml", "data/offers.yaml", "data/customers.csv"} <= names
        assert "data/history/channels.csv" in names
        assert len([n for n in names if n.startswith("policies/")]) == 2
        assert len([n for n in names if n.startswith("playbooks/")]) == 2

    def test_loads_with_the_requested_number_of_customers(self, loaded: LoadedWorkspace) -> None:
        assert len(customers_of(loaded)) == SMALL
        assert customers_of(loaded).ids[0] == "C0000001"

    def test_same_seed_gives_byte_identical_files(self, example: str, tmp_path: Path) -> None:
        first = files_of(written(tmp_path / "a", example, customers=500, seed=11))
        second = files_of(written(tmp_path / "b", example, customers=500, seed=11))
        assert first == second

    def test_another_seed_gives_other_data(self, example: str, tmp_path: Path) -> None:
        first = files_of(written(tmp_path / "a", example, customers=500, seed=11))
        second = files_of(written(tmp_path / "b", example, customers=500, seed=12))
        assert first["data/customers.csv"] != second["data/customers.csv"]
        assert first["data/history/channels.csv"] != second["data/history/channels.csv"]
        assert first["mios.yaml"] == second["mios.yaml"]

    def test_history_does_not_depend_on_the_number_of_customers(self, tmp_path: Path) -> None:
        few = files_of(written(tmp_path / "a", "retail", customers=10))
        more = files_of(written(tmp_path / "b", "retail", customers=20))
        assert few["data/history/channels.csv"] == more["data/history/channels.csv"]

    def test_zero_customers_is_a_header_only_file(self, tmp_path: Path) -> None:
        root = written(tmp_path, "b2b", customers=0)
        assert len(customers_of(load_workspace(root))) == 0

    def test_an_unknown_example_writes_nothing(self, tmp_path: Path) -> None:
        with pytest.raises(InputError, match="unknown example 'saas'; choose one of retail, b2b"):
            write_example(tmp_path, "saas")
        with pytest.raises(InputError, match=">= 0"):
            write_example(tmp_path, "retail", customers=-1)
        with pytest.raises(InputError, match="seed"):
            write_example(tmp_path, "retail", seed=-1)
        assert list(tmp_path.iterdir()) == []


class TestAuthoredFiles:
    def test_budgets_and_channels_cover_the_six_channels(self, workspace: Workspace) -> None:
        assert {b.channel for b in workspace.budgets} >= set(SIX)
        assert all(b.amount.amount > 0 for b in workspace.budgets)
        configured = {c.name: c for c in workspace.channels}
        assert set(SIX) <= set(configured)
        assert all(c.connector == "simulator" for c in configured.values())
        sms = configured[ChannelName.SMS].quiet_hours
        assert sms is not None
        assert (sms.start.hour, sms.end.hour, sms.start.tzinfo) == (21, 8, None)

    def test_brand_book_is_complete(self, workspace: Workspace) -> None:
        brand = workspace.brand
        assert {"guaranteed", "risk-free", "miracle", "cure"} <= set(brand.banned_terms)
        assert 6 <= len(brand.claims) <= 8
        assert all(c.substantiation_id for c in brand.claims)
        assert brand.voice.reading_level_max is not None
        assert brand.voice.max_exclamation_marks is not None
        assert brand.sender.postal_address.one_line()
        offer_types = {o.type for o in workspace.offers}
        assert offer_types <= set(brand.required_disclaimers)
        assert 5 <= len(workspace.offers) <= 7

    def test_objective_has_guardrails(self, workspace: Workspace) -> None:
        kpis = {g.kpi.value for g in workspace.objective.guardrails}
        assert {"cac", "unsubscribe_rate", "complaint_rate", "roas"} <= kpis

    def test_agents_policies_and_playbooks(self, workspace: Workspace) -> None:
        five = {"content", "advertising", "crm", "research", "analytics"}
        assert {a.name for a in workspace.agents if a.enabled} == five
        assert len(workspace.autonomy.entries) > 5
        assert len(workspace.policies) == 2
        for pack in workspace.policies:
            assert 3 <= len(pack.rules) <= 6
        effects = {r.effect.value for p in workspace.policies for r in p.rules}
        assert effects == {"deny", "warn", "approve"}
        roles = {role.value for p in workspace.policies for r in p.rules for role in r.roles}
        assert {"brand", "legal", "budget_owner"} <= roles
        assert max(len(p.agents) for p in workspace.playbooks) == 5
        assert len(workspace.playbooks) == 2
        assert 1 <= len(workspace.campaigns) <= 2

    def test_there_is_a_sensitive_segment(self, workspace: Workspace) -> None:
        assert any(s.sensitive for s in workspace.segments)
        assert 6 <= len(workspace.segments) <= 10


class TestCustomers:
    def test_every_segment_selects_some_but_not_all(
        self, loaded: LoadedWorkspace, workspace: Workspace
    ) -> None:
        table = customers_of(loaded)
        for segment in workspace.segments:
            size = segment.size(table)
            assert 0 < size < len(table), segment.id

    def test_granted_consent_always_has_a_basis(self, loaded: LoadedWorkspace) -> None:
        table = customers_of(loaded)
        granted = table.consent_status == GRANTED
        none = BASIS_CODES.index(LawfulBasis.NONE)
        assert not (granted & (table.consent_basis == none)).any()
        assert not (~granted & (table.consent_basis != none)).any()

    def test_consent_is_dated_within_three_years(self, loaded: LoadedWorkspace) -> None:
        table = customers_of(loaded)
        stamps = table.consent_at[~np.isnat(table.consent_at)]
        assert stamps.size
        as_of = np.datetime64(AS_OF, "s")
        assert stamps.max() <= as_of
        assert stamps.min() >= as_of - np.timedelta64(3 * 366, "D")
        unknown = table.consent_status == CONSENT_CODES.index(ConsentStatus.UNKNOWN)
        assert np.isnat(table.consent_at[unknown]).all()

    def test_suppression_is_rare_and_explained(self, loaded: LoadedWorkspace) -> None:
        table = customers_of(loaded)
        assert 0.003 < table.suppressed.mean() < 0.04
        reasons = set(table.suppression_reason.strings()[table.suppressed].tolist())
        assert reasons <= {"hard_bounce", "complaint", "legal_request"}
        assert not table.suppression_reason.present()[~table.suppressed].any()

    def test_time_zones_match_countries(self, loaded: LoadedWorkspace) -> None:
        table = customers_of(loaded)
        zones = table.time_zone.strings()
        countries = table.country.strings()
        assert set(countries[table.region.eq("EU")].tolist()) <= {
            "DE", "FR", "NL", "ES", "IT", "IE", "SE"
        }  # fmt: skip
        assert all(z.startswith("America/") for z in zones[table.region.eq("CA")].tolist())
        assert set(zones[table.country.eq("DE")].tolist()) == {"Europe/Berlin"}


@pytest.mark.slow
@pytest.mark.parametrize("example_name", EXAMPLES)
def test_default_size_and_region_mix(example_name: str, tmp_path: Path) -> None:
    table = customers_of(load_workspace(written(tmp_path, example_name)))
    assert len(table) == 50_000
    share = {r: float(table.region.eq(r).mean()) for r in ("US", "EU", "CA")}
    assert share == pytest.approx({"US": 0.55, "EU": 0.30, "CA": 0.15}, abs=0.015)
    email = CONSENT_CHANNELS.index(ChannelName.EMAIL)
    sms = CONSENT_CHANNELS.index(ChannelName.SMS)
    social = CONSENT_CHANNELS.index(ChannelName.PAID_SOCIAL)

    def granted(region: str, column: int) -> float:
        return float((table.consent_status[table.region.eq(region), column] == GRANTED).mean())

    assert granted("US", email) > granted("EU", email)
    assert granted("US", social) > granted("EU", social)
    assert 0.03 < granted("EU", sms) < granted("US", sms) < 0.25
    eu = table.region.eq("EU") & (table.consent_status[:, email] == GRANTED)
    bases = {BASIS_CODES[int(b)].value for b in np.unique(table.consent_basis[eu, email])}
    assert bases == {"consent", "legitimate_interest"}


@pytest.mark.parametrize("example_name", EXAMPLES)
def test_history_has_104_weeks_per_channel(example_name: str, tmp_path: Path) -> None:
    history = load_workspace(written(tmp_path, example_name, customers=10)).history
    last = AS_OF - timedelta(days=7)
    expected = [last - timedelta(days=7 * i) for i in reversed(range(HISTORY_WEEKS))]
    assert set(history.channels) == set(SIX)
    for channel in SIX:
        weeks = history.for_channel(channel)
        assert [w.week for w in weeks] == expected
        spend = np.asarray([float(w.spend.amount) for w in weeks])
        revenue = np.asarray([float(w.revenue.amount) for w in weeks])
        assert (spend > 0).all()
        assert all(w.conversions <= w.clicks <= w.impressions for w in weeks)
        assert 0.3 < revenue.sum() / spend.sum() < 40
    assert expected[0] == date(2024, 11, 18)


def test_retail_history_peaks_in_the_fourth_quarter(tmp_path: Path) -> None:
    history = load_workspace(written(tmp_path, "retail", customers=10)).history
    weeks = history.for_channel(ChannelName.PAID_SEARCH)
    q4 = [float(w.revenue.amount) for w in weeks if w.week.month in (11, 12)]
    rest = [float(w.revenue.amount) for w in weeks if w.week.month not in (11, 12)]
    assert np.mean(q4) > 1.3 * np.mean(rest)
    email = sum(float(w.spend.amount) for w in history.for_channel(ChannelName.EMAIL))
    search = sum(float(w.spend.amount) for w in weeks)
    assert email < 0.2 * search

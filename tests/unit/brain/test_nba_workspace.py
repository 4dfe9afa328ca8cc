"""NBA inputs built from a workspace: candidates, cells, offer rules, consent, limits, priors."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from mios.brain.nba import NextBestAction
from mios.brain.nba_workspace import OTHER, from_workspace
from mios.context.examples import write_example
from mios.context.translate import build_workspace
from mios.context.workspace_files import LoadedWorkspace, load_workspace
from mios.domain.channel import ChannelName
from mios.domain.history import ChannelHistory
from mios.errors import ModelInputError

DAY = date(2026, 11, 16)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> LoadedWorkspace:
    root = tmp_path_factory.mktemp("retail")
    write_example(root, "retail", customers=400, seed=5)
    return load_workspace(root)


def test_candidates_are_active_offers_on_consent_channels_they_allow(
    loaded: LoadedWorkspace,
) -> None:
    workspace = build_workspace(loaded.spec)
    assert loaded.customers is not None
    setup = from_workspace(workspace, loaded.customers, loaded.history, on=DAY, budget=10.0)
    assert setup.limits.channels == ("email", "sms", "push", "paid_social", "display")
    ids = {c.id for c in setup.candidates}
    assert "winback-15@email" in ids
    assert "winback-15@push" not in ids  # winback-15 allows email and sms only
    assert not any(c.offer == "free-shipping-weekend" for c in setup.candidates)
    assert setup.inactive_offers == ("free-shipping-weekend",)
    bundle = next(c for c in setup.candidates if c.id == "layering-bundle@email")
    assert bundle.value == pytest.approx(265 * 0.34)
    assert bundle.cost == pytest.approx(0.0009)
    assert setup.limits.budget == 10.0
    assert setup.limits.channel_caps == {"email": 3, "sms": 1, "push": 2}
    assert setup.limits.total_cap == 3
    assert setup.limits.capacity["sms"] == 40_000


def test_cells_offer_rules_and_consent_follow_the_customers(loaded: LoadedWorkspace) -> None:
    workspace = build_workspace(loaded.spec)
    customers = loaded.customers
    assert customers is not None
    setup = from_workspace(workspace, customers, loaded.history, on=DAY)
    assert setup.segments[-1] == OTHER
    codes = setup.audience.segment
    vip = workspace.segment("vip").mask(customers)
    assert np.all(codes[vip] == 0)  # vip is the first segment: it wins every overlap
    matched_none = ~np.any([s.mask(customers) for s in workspace.segments], axis=0)
    assert np.all(codes[matched_none] == len(setup.segments) - 1)
    assert setup.audience.offer_ok is not None
    winback = setup.offers.index("winback-15")
    allowed = workspace.segment("lapsed").mask(customers) | workspace.segment("loyal_at_risk").mask(
        customers
    )
    np.testing.assert_array_equal(setup.audience.offer_ok[:, winback], allowed)
    np.testing.assert_array_equal(setup.audience.consent[:, 1], customers.granted(ChannelName.SMS))
    assert setup.alpha.shape == (len(setup.segments), len(setup.candidates))
    email = next(p for p in setup.priors if p["channel"] == "email")
    assert email["source"] == "history"
    rate = setup.alpha / (setup.alpha + setup.beta)
    first_email = next(i for i, c in enumerate(setup.candidates) if c.channel == "email")
    assert rate[0, first_email] == pytest.approx(
        email["conversions"] / email["impressions"], rel=0.5
    )
    decision = (
        NextBestAction(seed=1)
        .fit(setup.candidates, setup.limits, setup.offers, setup.alpha, setup.beta)
        .decide(setup.audience)
    )
    assert decision.funnel["chosen"] > 0


def test_without_history_every_cell_starts_at_a_weak_flat_prior(loaded: LoadedWorkspace) -> None:
    workspace = build_workspace(loaded.spec)
    assert loaded.customers is not None
    setup = from_workspace(workspace, loaded.customers, ChannelHistory(), on=DAY)
    assert np.all(setup.alpha == 1.0)
    assert np.all(setup.beta == 99.0)
    assert {p["source"] for p in setup.priors} == {"none"}


def test_a_workspace_without_offers_has_no_candidates(loaded: LoadedWorkspace) -> None:
    workspace = build_workspace(loaded.spec)
    assert loaded.customers is not None
    empty = replace(workspace, offers=(), campaigns=())
    with pytest.raises(ModelInputError, match="no candidate actions"):
        from_workspace(empty, loaded.customers, loaded.history, on=DAY)

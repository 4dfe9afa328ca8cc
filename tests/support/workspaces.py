"""Small, valid workspace inputs for tests that need one without generating an example."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from mios.context.spec import WorkspaceFileSpec, WorkspaceSpec
from mios.domain.categorical import Categorical
from mios.domain.channel import CONSENT_CHANNELS
from mios.domain.customer_table import CustomerTable

MINIMAL_CONFIG: dict[str, Any] = {
    "workspace": {"name": "Test Shop", "currency": "USD", "time_zone": "America/New_York"},
    "brand": {
        "name": "Test Shop",
        "sender": {
            "name": "Test Shop",
            "email": "hello@shop.example",
            "postal_address": {
                "street": "1 Main St",
                "city": "Springfield",
                "postal_code": "12345",
                "country": "US",
            },
        },
        "banned_terms": ["guaranteed"],
        "claims": [{"id": "warm", "text": "Keeps you warm", "substantiation": "LAB-1"}],
    },
    "objective": {"primary_kpi": "profit", "target": 100000, "horizon_days": 90},
    "budgets": {"email": {"period": "monthly", "amount": "1000.00"}},
    "channels": {"email": {}},
    "segments": [
        {"id": "eu", "name": "EU customers", "rule": {"field": "region", "eq": "EU"}},
        {"id": "big", "name": "Big spenders", "rule": {"field": "ltv", "gte": 500}},
    ],
}


def minimal_spec(**overrides: Any) -> WorkspaceSpec:
    config = {**MINIMAL_CONFIG, **overrides}
    return WorkspaceSpec(config=WorkspaceFileSpec.model_validate(config))


def random_customers(n: int, seed: int = 1, prefix: str = "C") -> CustomerTable:
    """``n`` plausible customers as columns, generated without a per-customer loop."""
    rng = np.random.default_rng(seed)
    k = len(CONSENT_CHANNELS)
    regions = rng.choice(["US", "EU", "CA"], size=n, p=[0.55, 0.3, 0.15])
    country = np.where(regions == "EU", "DE", np.where(regions == "CA", "CA", "US"))
    zone = np.where(
        regions == "EU", "Europe/Berlin", np.where(regions == "CA", "America/Toronto", "UTC")
    )
    status = rng.integers(0, 3, size=(n, k)).astype(np.int8)
    basis = np.where(status == 1, rng.integers(1, 4, size=(n, k)), 0).astype(np.int8)
    stamp = np.datetime64(datetime(2024, 1, 1, tzinfo=UTC).replace(tzinfo=None), "s")
    at = np.where(status == 1, stamp, np.datetime64("NaT", "s")).astype("datetime64[s]")
    suppressed = rng.random(n) < 0.02
    ltv = np.round(rng.gamma(2.0, 200.0, size=n), 2)
    ltv[rng.random(n) < 0.05] = np.nan
    return CustomerTable(
        ids=np.char.add(prefix, np.char.zfill(np.arange(n).astype(np.str_), 7)),
        region=Categorical.from_strings(regions),
        country=Categorical.from_strings(country),
        time_zone=Categorical.from_strings(zone),
        suppressed=suppressed,
        suppression_reason=Categorical.from_strings(np.where(suppressed, "hard_bounce", "")),
        consent_status=status,
        consent_basis=basis,
        consent_at=at,
        numeric={"ltv": ltv},
        categorical={"tier": Categorical.from_strings(rng.choice(["gold", "silver", ""], n))},
    )

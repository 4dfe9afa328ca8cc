"""Governance target of the Human Command issue.

    review one message action with a 1,000-word body: the example workspace's full policy pack
    and every built-in checker, on one core                                  target <= 1 ms

The workspace is the retail example with 100,000 customers. The action is an email with a
realistic 1,000-word body (no sentence repeated, three cited claims, a footer with the postal
address and an unsubscribe link) to a segment and to a list of 1,000 customer ids. Each round is
a new action with a body no review has read (the target); the same copy is then reviewed again
as another action, which is what a cycle does when one variant goes to several audiences and
when an approved action is checked before it runs (the copy's reading is kept per text).

No peer: the closest (OPA, a policy server) would add a network hop; the CEL rules alone are
printed as the floor of what any rule engine must do.

    python bench/bench_policy.py
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from mios.context.examples import write_example
from mios.context.translate import build_workspace
from mios.context.workspace_files import load_workspace
from mios.domain.action import Action
from mios.domain.channel import ChannelName
from mios.domain.proposal import ActionKind, Audience, Content, RiskTier
from mios.governance.audience import recipients
from mios.governance.checkers import built_in_checkers, pii
from mios.governance.facts import action_facts, context_facts
from mios.governance.review import Reviewer
from mios.governance.review_context import ContactHistory, ReviewContext
from mios.governance.rules import Activation

PRODUCTS = [
    "Ridgeline merino crew",
    "Cirrus fleece",
    "Talus insulated vest",
    "Pika down hood",
    "Sawtooth softshell",
    "Larch flannel",
    "Basin rain pant",
    "Cairn trail sock",
    "Kestrel windbreaker",
    "Fjell wool beanie",
    "Summit glove liner",
    "Drift camp parka",
]
PLACES = [
    "the trailhead",
    "the ridge",
    "a frozen lakeshore",
    "the school run",
    "a windy bus stop",
    "the last chairlift",
    "a wet campsite",
    "the morning commute",
    "a ski-touring hut",
    "a canal towpath",
    "the dog walk",
    "a December market",
]
VERBS = [
    "keeps its warmth",
    "packs down small",
    "dries quickly",
    "blocks a cold wind",
    "moves with you",
    "layers cleanly",
    "breathes on the climb",
    "stays soft wash after wash",
]
TEMPLATES = [
    "The {p} {v}, from {a} to {b}.",
    "Pair the {p} with the {q} when the light goes flat at {a}.",
    "We designed the {p} for {a}, and it {v} on {b} too.",
    "Try the {p} on {a}: it {v} without the bulk.",
    "If you spend your weekends at {a}, the {p} is the layer you will reach for.",
    "Our staff wore the {p} all season, from {a} to {b}, and it still {v}.",
    "Start a little cold at {a}, then let the {p} do the work on {b}.",
    "Customers tell us the {q} is what they pack for {a}.",
]
FIXED = [
    "StormShell jackets are rated 20,000 mm waterproof and 15,000 g/m2 breathable.",
    "We repair any Northwind product for as long as you own it.",
    "Return anything unworn within 60 days for a full refund.",
    "This week only, members save 15% on base layers and mid layers, online and in stores.",
    "Questions about sizing or care can go to care@northwind-outfitters.example any day.",
]
FOOTER = (
    "Northwind Outfitters, 1450 Wynkoop Street, Suite 300, Denver, CO 80202, US. "
    "You are receiving this because you joined Northwind Summit. "
    "Unsubscribe: {{unsubscribe_url}}"
)


def body(words: int, seed: int) -> str:
    """A realistic email with no sentence repeated."""
    rng = random.Random(seed)
    out, seen = list(FIXED), set(FIXED)
    while sum(len(s.split()) for s in out) < words - len(FOOTER.split()):
        p, q = rng.sample(PRODUCTS, 2)
        a, b = rng.sample(PLACES, 2)
        sentence = rng.choice(TEMPLATES).format(p=p, q=q, a=a, b=b, v=rng.choice(VERBS))
        if sentence not in seen:
            seen.add(sentence)
            out.insert(rng.randrange(len(out) + 1), sentence)
    return " ".join(out) + "\n\n" + FOOTER


def message(audience: Audience, seed: int) -> Action:
    return Action(
        id=f"a{seed}",
        proposal_id="p1",
        kind=ActionKind.SEND_MESSAGE,
        snapshot_version=1,
        channel=ChannelName.EMAIL,
        audience=audience,
        content=Content(
            subject="Layer up for the first cold front",
            body=body(1000, seed),
            claims=("stormshell-waterproof", "lifetime-repairs", "returns-60-days"),
        ),
        parameters={"headers": {"List-Unsubscribe": "<https://n.example/u>"}},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=300)
    args, _ = parser.parse_known_args()
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "w"
        root.mkdir()
        write_example(root, "retail", customers=min(args.customers, 100_000), seed=7)
        loaded = load_workspace(root)
    shop = build_workspace(loaded.spec)
    people = loaded.customers
    assert people is not None
    n = len(people)
    rng = np.random.default_rng(1)
    contacts = ContactHistory(
        today={ch: np.zeros(n, dtype=np.int64) for ch in (ChannelName.EMAIL, ChannelName.SMS)},
        week={ch: rng.integers(0, 2, n) for ch in (ChannelName.EMAIL, ChannelName.SMS)},
        last_unsubscribe=np.full(n, np.datetime64("NaT"), dtype="datetime64[s]"),
        ignored_in_row=rng.integers(0, 3, n),
    )
    now = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
    context = ReviewContext(shop, people, shop.empty_ledger(), now, contacts=contacts)
    reviewer = Reviewer(shop, built_in_checkers())
    activation = Activation(context_facts(shop))
    started = time.perf_counter()
    pii._analyzer()
    print(
        f"{n:,} customers; Presidio engine built once per process in "
        f"{time.perf_counter() - started:.2f} s; {len(reviewer.policies.rules)} policy rules, "
        f"{len(reviewer.checkers)} checkers"
    )
    vip = shop.segment("vip").size(people)
    audiences = [
        (f"segment vip ({vip:,} customers)", Audience(segment_id="vip")),
        ("1,000 listed customer ids", Audience(customer_ids=tuple(people.ids[:1000].tolist()))),
    ]
    print("target: <= 1 ms per message action (median), one core")
    for name, audience in audiences:
        warm = [message(audience, seed) for seed in range(4)]
        for action in warm:  # the first review of any text builds the per-process engines
            reviewer.review(action, context, RiskTier.MEDIUM)
        fresh, again, rules = [], [], []
        for i in range(args.rounds):
            # New copy: a body no review has read (what the target is about).
            action = message(audience, 10_000 + i)
            started = time.perf_counter()
            review = reviewer.review(action, context, RiskTier.MEDIUM)
            fresh.append(time.perf_counter() - started)
            # The same copy again, as a new action (another audience's turn, or the check
            # before it runs): the text was read once already.
            repeat = replace(action, id=f"again-{i}")
            started = time.perf_counter()
            reviewer.review(repeat, context, RiskTier.MEDIUM)
            again.append(time.perf_counter() - started)
            reached = recipients(action, shop, people)
            facts = action_facts(action, reached, shop, people)
            started = time.perf_counter()
            reviewer.policies.check(action, activation(facts, now))
            rules.append(time.perf_counter() - started)
        words = len(action.content.body.split())  # type: ignore[union-attr]
        fresh.sort()
        print(
            f"{name}, {words}-word body: new copy median {statistics.median(fresh) * 1e3:.3f} ms, "
            f"p95 {fresh[int(0.95 * len(fresh))] * 1e3:.3f} ms; copy read before "
            f"{statistics.median(again) * 1e3:.3f} ms; CEL rules alone "
            f"{statistics.median(rules) * 1e3:.3f} ms; verdict {review.verdict.effect}"
        )


if __name__ == "__main__":
    main()

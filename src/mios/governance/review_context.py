"""What a review reads: the action, the workspace, its customers and what already reached them.

Built-in checkers implement ``Checker``: ``check(action, context) -> Check``. A check returns
findings (deny, warn, info) and, for what people must decide, ``Requirement``s (which roles, how
many). The review combines every check with the policy rules and the autonomy matrix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

import numpy as np

from mios.domain.action import Action
from mios.domain.budget import BudgetLedger
from mios.domain.channel import ChannelName
from mios.domain.customer_table import CustomerTable
from mios.domain.governance import Finding, Role
from mios.domain.workspace import Workspace
from mios.types import IntArray, TimeArray


@dataclass(frozen=True)
class ContactHistory:
    """Per customer, aligned with the ``CustomerTable`` rows: what reached them lately.

    ``today`` and ``week`` count messages per channel in the customer's local day and in the
    last seven days; ``last_unsubscribe`` is NaT for customers who never unsubscribed;
    ``ignored_in_row`` counts consecutive messages with no open or click.
    """

    today: Mapping[ChannelName, IntArray]
    week: Mapping[ChannelName, IntArray]
    last_unsubscribe: TimeArray
    ignored_in_row: IntArray

    @classmethod
    def empty(cls, customers: int) -> ContactHistory:
        return cls(
            today={},
            week={},
            last_unsubscribe=np.full(customers, np.datetime64("NaT"), dtype="datetime64[s]"),
            ignored_in_row=np.zeros(customers, dtype=np.int64),
        )


@dataclass(frozen=True)
class ReviewContext:
    """Guardrails come from ``workspace.guardrails``; ``contacts`` of ``None`` means none yet."""

    workspace: Workspace
    customers: CustomerTable
    ledger: BudgetLedger
    now: datetime
    contacts: ContactHistory | None = None
    #: spend already committed today and in the current cycle, per channel
    spent_today: Mapping[ChannelName, Decimal] = field(default_factory=dict)
    spent_this_cycle: Mapping[ChannelName, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class Requirement:
    """People who must approve: ``roles`` (each covered), at least ``quorum`` people."""

    rule_id: str
    roles: frozenset[Role]
    quorum: int = 1


@dataclass(frozen=True)
class Check:
    findings: tuple[Finding, ...] = ()
    requirements: tuple[Requirement, ...] = ()


class Checker(Protocol):
    id: str

    def check(self, action: Action, context: ReviewContext) -> Check: ...

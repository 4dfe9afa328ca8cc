"""The scheduler: each playbook's next cycle starts when its cadence fires.

    scheduler = Scheduler(lifecycle.durable)
    scheduler.tick()                          # one pass, at the services' clock
    scheduler.run(stop, every=30.0)           # what ``mios worker`` runs in a thread

A tick looks at every playbook of the newest snapshot. A playbook's fire time is **due** when it
is the latest one at or before now and later than the start of the playbook's latest cycle (for
a playbook with no cycle yet: later than the moment the scheduler was made). So a worker that
was stopped over several fire times starts one catch-up cycle, for the latest of them, not one
per missed fire; and a cycle someone ran by hand after a missed fire stands in for it.

A due fire enqueues the DBOS workflow ``mios.schedule.fire`` with the id
``schedule-<playbook>-<fire time to the minute>`` (``DurableLifecycle.fire``), so the same fire
runs once whichever worker, and however many ticks or restarts, reach it. The workflow asks
``pick`` what to do, in a checkpointed step: start the playbook's next cycle, numbered after its
latest one (``cycle-P-n``, the same workflow ``start_cycle`` enqueues), or skip the fire when
that latest cycle has not finished (or the next one is already queued); a skipped fire is not
tried again later, the next fire is.

Times are UTC (``mios.domain.cron``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from dbos import DBOS

from mios.domain.clock import require_utc
from mios.domain.cron import Cron
from mios.domain.cycle import Playbook
from mios.errors import DomainError
from mios.lifecycle.services import CycleServices
from mios.lifecycle.steps import cycle_id

if TYPE_CHECKING:
    from mios.lifecycle.durable import DurableLifecycle

log = logging.getLogger(__name__)

#: How long a tick waits for a fire's outcome (the fire itself takes a step and an enqueue).
FIRE_WAIT = 30.0
_FAILED = frozenset({"ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"})
_FINISHED = _FAILED | {"SUCCESS"}


@dataclass(frozen=True)
class Fired:
    """What one fire of a playbook's cadence did: started ``cycle`` (its ``number``), or was
    ``skipped`` for the reason given."""

    playbook: str
    at: datetime
    workflow: str
    cycle: str | None = None
    number: int | None = None
    skipped: str | None = None

    def describe(self) -> str:
        when = self.at.strftime("%Y-%m-%d %H:%M UTC")
        if self.cycle is not None:
            return f"{self.playbook} fired at {when}: started {self.cycle}"
        return f"{self.playbook} fired at {when}: skipped, {self.skipped}"


def fire_id(playbook: str, at: datetime) -> str:
    """``schedule-<playbook>-<YYYY-MM-DDTHH:MMZ>``: one workflow per playbook and minute."""
    return f"schedule-{playbook}-{require_utc(at, 'fire time'):%Y-%m-%dT%H:%MZ}"


def pick(
    services: CycleServices, playbook: str, at: datetime, status: Callable[[str], str | None]
) -> Fired:
    """What the fire of ``playbook`` at ``at`` does: start the cycle after its latest one, or
    skip because the playbook is gone, its latest cycle has not finished, or the next cycle's
    workflow already exists (``status``: a workflow's DBOS status, ``None`` if there is none;
    a cycle is queued before its record is written)."""
    fire = Fired(playbook, at, fire_id(playbook, at))
    if all(b.name != playbook for b in services.context.snapshot().workspace.playbooks):
        return _skip(fire, "the playbook is no longer in the context")
    last = services.cycles.last_number(playbook)
    previous = services.cycles.get(cycle_id(playbook, last)) if last else None
    if previous is not None and not previous.is_done:
        reason = f"{previous.id} has not finished (it is at {previous.stage})"
        ended = status(previous.id)
        if ended in _FAILED:
            # Said on every fire: the playbook runs no more cycles until someone looks.
            reason += f"; its workflow ended {ended}, so no later fire starts a cycle either"
        return _skip(fire, reason)
    following = cycle_id(playbook, last + 1)
    found = status(following)
    if found is not None:
        return _skip(fire, f"{following} is already {found.lower()}")
    return Fired(playbook, at, fire.workflow, following, last + 1)


def _skip(fire: Fired, reason: str) -> Fired:
    return Fired(fire.playbook, fire.at, fire.workflow, skipped=reason)


class Scheduler:
    """Starts cycles of ``durable``'s workspace at its playbooks' cadences. ``report`` hears of
    every fire this scheduler enqueued (the worker prints them); every fire is also logged.
    ``since`` (default: the services' clock now) is where a playbook that never ran starts
    counting fires."""

    def __init__(
        self,
        durable: DurableLifecycle,
        *,
        report: Callable[[Fired], None] | None = None,
        wait: float = FIRE_WAIT,
        since: datetime | None = None,
    ) -> None:
        self.durable = durable
        self.services = durable.services
        self.report = report
        self.wait = wait
        self.since = require_utc(self.services.clock() if since is None else since, "since")
        self._books: tuple[int, tuple[Playbook, ...]] = (0, ())
        self._crons: dict[str, Cron | None] = {}

    def playbooks(self) -> tuple[Playbook, ...]:
        """The newest snapshot's playbooks (read again only when the context moved)."""
        head = self.services.context.head()
        if head != self._books[0]:
            self._books = (head, self.services.context.snapshot().workspace.playbooks)
        return self._books[1]

    def due(self, now: datetime) -> list[tuple[str, datetime]]:
        """``(playbook, fire time)`` for every playbook whose fire is due at ``now``."""
        now = require_utc(now, "now")
        found = []
        for book in self.playbooks():
            cron = self._cron(book)
            if cron is None:
                continue
            at = cron.last_at_or_before(now)
            if at > self._floor(book.name):
                found.append((book.name, at))
        return found

    def tick(self, now: datetime | None = None) -> list[Fired]:
        """One pass at ``now`` (default: the services' clock): enqueue every due fire no worker
        has enqueued yet, and return what each did (a fire still running after ``wait``
        seconds is left to finish and not returned)."""
        now = self.services.clock() if now is None else now
        workflows = []
        for playbook, at in self.due(now):
            workflow = fire_id(playbook, at)
            if DBOS.get_workflow_status(workflow) is not None:
                continue  # fired already, here or by another worker
            workflows.append(self.durable.fire(playbook, at))
        fired = []
        for workflow in workflows:
            result = self._result(workflow)
            if result is None:
                continue
            log.info("schedule: %s", result.describe())
            if self.report is not None:
                self.report(result)
            fired.append(result)
        return fired

    def run(self, stop: threading.Event, every: float) -> None:
        """Tick now and every ``every`` seconds until ``stop`` is set. A tick that fails (the
        database away for a moment) is logged, and the next one tries again."""
        while not stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("schedule: a tick failed; trying again in %.0f s", every)
            stop.wait(every)

    def _cron(self, book: Playbook) -> Cron | None:
        if book.cadence not in self._crons:
            try:
                self._crons[book.cadence] = Cron.parse(book.cadence)
            except DomainError as exc:
                log.warning("schedule: playbook %s is not scheduled: %s", book.name, exc)
                self._crons[book.cadence] = None
        return self._crons[book.cadence]

    def _floor(self, playbook: str) -> datetime:
        """A fire is due only after this: the start of the playbook's latest cycle, or when
        this scheduler was made, for a playbook that never ran."""
        cycles = self.services.cycles
        last = cycles.last_number(playbook)
        latest = cycles.get(cycle_id(playbook, last)) if last else None
        return self.since if latest is None else latest.started_at

    def _result(self, workflow: str) -> Fired | None:
        """The fire's outcome; ``None``, logged, when it failed or still runs."""
        deadline = time.monotonic() + self.wait
        while time.monotonic() < deadline:
            status = DBOS.get_workflow_status(workflow)
            if status is not None and status.status in _FINISHED:
                try:
                    result: Fired = DBOS.retrieve_workflow(workflow).get_result()
                except Exception:
                    log.exception("schedule: %s failed", workflow)
                    return None
                return result
            time.sleep(0.05)
        log.warning("schedule: %s still runs after %.0f s", workflow, self.wait)
        return None

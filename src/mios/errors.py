"""The one exception tree of mios.

Every error mios raises on purpose is a ``MiosError``. Foreign errors (YAML, pydantic,
SQLAlchemy, the OS) are translated at the boundary with ``raise XError(...) from exc``, so a
caller never has to know which library failed.

    MiosError
    ├── InputError                  bad input from a person or a file; CLI exit code 2
    │   ├── WorkspaceError          a workspace file is missing, malformed or invalid
    │   ├── CustomerImportError     a customers CSV has invalid rows (each one listed)
    │   ├── ScenarioError           a market scenario file is missing, malformed or invalid
    │   ├── MarketError             an action the simulated market cannot carry out
    │   ├── ActionFileError         an action file (JSON) is malformed or invalid
    │   ├── ModelInputError         data given to a brain model is malformed or too little
    │   ├── InfeasibleConstraints   constraints no solution can meet (bounds above the total ...)
    │   └── DomainError             a value breaks a domain rule (currency mix, bad rule ...)
    │       ├── IllegalTransition   an Action moved along an edge its state machine lacks
    │       └── BudgetExceeded      a commitment would overdraw the budget ledger
    ├── ContextError                the shared context cannot do what was asked
    │   ├── UnknownVersion          a snapshot version that was never written
    │   └── VersionConflict         a write based on a version that is no longer the head
    ├── StorageError                the database cannot be reached or refused a write; exit 1
    ├── AccessDenied                no valid token, a removed user, or a role not allowed; exit 3
    ├── ChannelError                a channel refused or failed an action
    │   └── ChannelUnavailable      the channel is down now; the same action may be retried
    ├── AgentError                  an agent could not be found, loaded or run
    │   ├── UnknownAgent            no built-in agent or plug-in has this name (also InputError)
    │   ├── AgentLoadError          a plug-in failed to import or build, or breaks the protocol
    │   ├── LlmUnavailable          LLM mode without the ``llm`` extra (also ImportError)
    │   ├── UsageLimitReached       a model-backed agent hit a usage limit; it proposed nothing
    │   └── LlmRunFailed            the model failed, refused, or kept answering off-schema
    ├── NotFittedError              an estimator was used before ``fit``
    └── SolverError                 a numerical solver failed; the message is the solver's

``Location`` names the place at fault (file, line, field) so every message can point at it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """Where an input problem is: a file, optionally a line and a dotted field path."""

    file: str | None = None
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        parts: list[str] = []
        if self.file:
            parts.append(self.file if self.line is None else f"{self.file}:{self.line}")
        elif self.line is not None:
            parts.append(f"line {self.line}")
        if self.field:
            parts.append(self.field)
        return ", ".join(parts)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, at one place."""

    location: Location
    message: str

    def __str__(self) -> str:
        where = str(self.location)
        return f"{where}: {self.message}" if where else self.message


class MiosError(Exception):
    """Base of every error mios raises on purpose."""


class InputError(MiosError):
    """Bad input from a person or a file. ``problems`` lists every place at fault."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[Problem, ...] = tuple(problems)

    @classmethod
    def at(
        cls,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> InputError:
        problem = Problem(Location(file, line, field), message)
        return cls(str(problem), [problem])


class WorkspaceError(InputError):
    """A workspace file is missing, malformed or invalid."""


class CustomerImportError(InputError):
    """A customers CSV has invalid rows; ``problems`` names each line."""


class ScenarioError(InputError):
    """A market scenario file is missing, malformed or invalid."""


class MarketError(InputError):
    """An action names something the simulated market does not have, or asks the impossible."""


class ActionFileError(InputError):
    """An action file is missing, malformed, or names something the workspace lacks."""


class ModelInputError(InputError):
    """Data given to a brain model is malformed (wrong shape, negative counts, NaN) or too
    little to fit; the message names the argument or column, and the row."""


class InfeasibleConstraints(InputError):
    """Constraints that no solution can meet, found before solving (bounds summing above the
    total, a lower bound above an upper one); the message names the constraints in conflict."""


class DomainError(InputError):
    """A value breaks a rule of the domain."""


class IllegalTransition(DomainError):
    """An Action was asked to move along an edge its state machine does not have."""


class BudgetExceeded(DomainError):
    """A commitment or spend would take a channel's budget below zero."""


class ContextError(MiosError):
    """The shared context cannot do what was asked."""


class UnknownVersion(ContextError):
    """A snapshot version that was never written."""


class VersionConflict(ContextError):
    """A write was based on a version that is no longer the head."""


class StorageError(MiosError):
    """The database cannot be reached, or refused a read or a write."""


class AccessDenied(MiosError):
    """The person could not be authenticated, was removed, or lacks a role the operation needs.
    ``actor`` names the person when they were authenticated, so the refusal can be recorded."""

    def __init__(self, message: str, actor: str | None = None) -> None:
        super().__init__(message)
        self.actor = actor


class ChannelError(MiosError):
    """A channel refused an action (wrong state or channel, closed) or failed to carry it out."""


class ChannelUnavailable(ChannelError):
    """The channel cannot take actions right now (an outage); retrying later is safe."""


class NotFittedError(MiosError):
    """An estimator was used before ``fit``."""


class SolverError(MiosError):
    """A numerical solver (an optimiser, a linear program) failed; the message carries the
    solver's own status and message."""


class AgentError(MiosError):
    """An agent could not be found, loaded or run."""


class UnknownAgent(AgentError, InputError):
    """A name that no built-in agent and no installed plug-in has."""


class AgentLoadError(AgentError):
    """An agent failed to import or to build, does not satisfy the protocol, or shares its
    name with another; the message names the entry point and the distribution."""


class LlmUnavailable(AgentError, ImportError):
    """LLM mode was asked for but pydantic-ai is not installed (the ``llm`` extra)."""


class UsageLimitReached(AgentError):
    """A model-backed agent reached a usage limit; it proposed nothing (fail closed)."""


class LlmRunFailed(AgentError):
    """The model could not be reached, refused, or kept answering outside the schema."""

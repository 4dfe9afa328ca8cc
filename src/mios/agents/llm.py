"""LLM mode: any agent's role played by a model, through pydantic-ai (the ``llm`` extra).

    agent = llm_agent(registry.create("content"), "openai:gpt-5")   # or any pydantic-ai model
    agent.propose(ctx)            # the same protocol as every offline agent
    agent.run(ctx)                # proposals, refused drafts with reasons, usage

The model string is whatever pydantic-ai accepts (``provider:model``, including an
OpenAI-compatible local server); the CLI reads it from ``MIOS_LLM_MODEL``, the library takes it
as an argument. The model reads the context through read-only tools (``llm_tools``) and answers
with proposal drafts (``llm_schema.Drafts``); mios sets ids, agent and snapshot version and
re-checks every draft against the context, refusing what breaks a rule.

Usage limits fail closed. ``ctx.usage`` caps requests, total tokens and cost (when the model's
price is known); a run that reaches any of them raises ``UsageLimitReached`` and proposes
nothing, not even drafts it had finished: half a plan made under a spent budget is not a plan
anyone reviewed whole. A model that does not report its usage is stopped the same way, since
its token limit could not be enforced. The planner records the error against the agent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from mios.agents import llm_tools
from mios.agents.llm_prompts import SYSTEM, USER, role_for
from mios.agents.llm_schema import Drafts, Refusal, admit
from mios.agents.protocol import ACT, Agent, AgentContext, UsageLimits
from mios.domain.proposal import Proposal
from mios.errors import LlmRunFailed, LlmUnavailable, UsageLimitReached

try:
    from pydantic_ai import Agent as ModelAgent
    from pydantic_ai import RunContext, Tool
    from pydantic_ai.exceptions import (
        AgentRunError,
        UsageLimitExceeded,
        UsageLimitUnavailableWarning,
        UserError,
    )
    from pydantic_ai.models import Model
    from pydantic_ai.usage import RunUsage
    from pydantic_ai.usage import UsageLimits as ModelLimits
except ImportError as exc:  # the extra is not installed: say how to install it
    raise LlmUnavailable(
        "LLM mode needs pydantic-ai, which comes with the llm extra: pip install 'mios[llm]'"
    ) from exc

#: The environment variable the CLI reads the model string from.
MODEL_ENV = "MIOS_LLM_MODEL"

log = logging.getLogger(__name__)
_UNREPORTED = "the model did not report its usage, so the token limit cannot be enforced"
_T = TypeVar("_T")


@dataclass(frozen=True)
class Usage:
    requests: int
    input_tokens: int
    output_tokens: int
    cost: Decimal | None  # US dollars; None when the model's price is unknown


@dataclass(frozen=True)
class LlmRun:
    """One run of a model-backed agent: what it proposed, what mios refused, what it used."""

    agent: str
    model: str
    proposals: tuple[Proposal, ...]
    refused: tuple[Refusal, ...]
    usage: Usage


class LlmAgent:
    """An agent whose proposals come from a model playing ``role_prompt``."""

    def __init__(
        self,
        name: str,
        role_prompt: str,
        model: str | Model,
        *,
        description: str | None = None,
        stage: int = ACT,
    ) -> None:
        self.name = name
        self.description = description or f"{name}, played by a model"
        self.stage = stage
        self.model = model
        self._agent: ModelAgent[AgentContext, Drafts] = ModelAgent(
            None,
            deps_type=AgentContext,
            output_type=Drafts,
            instructions=SYSTEM.format(name=name, role=role_prompt),
            tools=_TOOLS,
            name=name,
        )

    @property
    def model_name(self) -> str:
        return self.model if isinstance(self.model, str) else self.model.model_name

    def propose(self, ctx: AgentContext) -> list[Proposal]:
        return list(self.run(ctx).proposals)

    def run(self, ctx: AgentContext) -> LlmRun:
        """``arun`` for callers without an event loop (the planner's threads, the CLI)."""
        return _blocking(lambda: self.arun(ctx))

    async def arun(self, ctx: AgentContext) -> LlmRun:
        limits = ModelLimits(request_limit=ctx.usage.requests, total_tokens_limit=ctx.usage.tokens)
        prompt = USER.format(version=ctx.snapshot_version, now=ctx.now.isoformat())
        try:
            async with self._agent.iter(
                prompt, deps=ctx, model=self.model, usage_limits=limits
            ) as run:
                async for _node in run:
                    self._check_usage(run.usage, ctx.usage)
                result = run.result
        except UsageLimitExceeded as exc:
            raise self._limit_reached(str(exc)) from exc
        except UsageLimitUnavailableWarning as exc:  # raised where warnings are errors
            raise self._limit_reached(_UNREPORTED) from exc
        except (AgentRunError, UserError, ImportError) as exc:  # ImportError: a provider's package
            raise LlmRunFailed(f"agent {self.name} on model {self.model_name}: {exc}") from exc
        if result is None:  # pragma: no cover - iteration ends only at the End node
            raise LlmRunFailed(f"agent {self.name} on model {self.model_name}: no answer")
        admission = admit(result.output.proposals, ctx, self.name)
        for refusal in admission.refused:
            log.warning(
                "agent %s: draft %d (%s) refused: %s",
                self.name,
                refusal.index,
                refusal.kind,
                refusal.reason,
            )
        usage = result.usage
        return LlmRun(
            self.name,
            self.model_name,
            admission.proposals,
            admission.refused,
            Usage(usage.requests, usage.input_tokens, usage.output_tokens, usage.cost),
        )

    def _check_usage(self, used: RunUsage, limits: UsageLimits) -> None:
        if used.cost is not None and used.cost > limits.cost:
            raise self._limit_reached(f"cost {used.cost} USD passed the limit of {limits.cost}")
        if used.unmeasured_requests:
            raise self._limit_reached(_UNREPORTED)

    def _limit_reached(self, what: str) -> UsageLimitReached:
        return UsageLimitReached(
            f"agent {self.name} on model {self.model_name}: {what}; "
            "it proposes nothing this run (usage limits fail closed)"
        )


def llm_agent(agent: Agent, model: str | Model) -> LlmAgent:
    """``agent``'s role (name, description, stage) played by ``model``."""
    return LlmAgent(
        agent.name,
        role_for(agent.name, agent.description),
        model,
        description=agent.description,
        stage=agent.stage,
    )


def _blocking(make: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    # Called from inside an event loop (an async web handler): run on a thread of its own.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mios-llm") as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def _view(view: Callable[[AgentContext], str]) -> Tool[AgentContext]:
    def read(ctx: RunContext[AgentContext]) -> str:
        return view(ctx.deps)

    return Tool(read, takes_ctx=True, name=view.__name__, description=view.__doc__)


def forecast(
    ctx: RunContext[AgentContext],
    segment: str,
    channel: str,
    offer: str | None = None,
    angle: str | None = None,
) -> str:
    """The brain's forecasts for one cell (segment id, channel, offer id, message angle):
    response rate, order value, ROAS and marginal ROAS, each with a 90% interval."""
    return llm_tools.forecast(ctx.deps, segment, channel, offer, angle)


def read_document(ctx: RunContext[AgentContext], name: str, first_line: int = 1) -> str:
    """Up to 200 numbered lines of one research file from ``first_line``; cite a line as
    document:<name>:<line>."""
    return llm_tools.read_document(ctx.deps, name, first_line)


_TOOLS: tuple[Tool[AgentContext], ...] = (
    *(
        _view(v)
        for v in (
            llm_tools.workspace_summary,
            llm_tools.segments,
            llm_tools.customer_fields,
            llm_tools.offers,
            llm_tools.brand,
            llm_tools.channel_history,
            llm_tools.handoffs,
            llm_tools.learnings,
            llm_tools.documents,
        )
    ),
    Tool(forecast, takes_ctx=True),
    Tool(read_document, takes_ctx=True),
)

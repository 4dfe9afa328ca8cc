"""Which agents there are: the five built-ins, and any a third party installs.

    registry = AgentRegistry.discover()
    registry.available()          # name, description, stage, origin of every agent
    registry.create("crm")        # a fresh instance, ready to ``propose``

Built-ins are named here by import path and imported only when asked for, so a broken or
missing one fails alone and listing names costs no imports. A plug-in is an installed
distribution with an entry point in the group ``mios.agents``::

    [project.entry-points."mios.agents"]
    segment-watch = "mios_segment_watch:SegmentWatch"

The entry point names a class or a factory; called with no arguments it must return an object
that satisfies ``mios.agents.protocol.Agent`` and whose ``name`` is the entry point's name.
Every failure says which agent, which entry point and which distribution is at fault.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from mios.agents.protocol import ACT, BRIEF, READ, Agent
from mios.errors import AgentLoadError, UnknownAgent

#: The entry-point group third-party agents register under.
GROUP = "mios.agents"
#: What ``AgentSpec.origin`` says for an agent that ships with mios.
BUILT_IN = "built-in"
#: The built-in agents by name, each as ``module:attribute``, in stage order.
BUILTIN_AGENTS: Mapping[str, str] = {
    "research": "mios.agents.builtin.research:ResearchAgent",
    "analytics": "mios.agents.builtin.analytics:AnalyticsAgent",
    "content": "mios.agents.builtin.content:ContentAgent",
    "crm": "mios.agents.builtin.crm:CrmAgent",
    "advertising": "mios.agents.builtin.advertising:AdvertisingAgent",
}
_STAGES = (READ, BRIEF, ACT)


@dataclass(frozen=True)
class AgentSpec:
    """One agent as listed: ``origin`` is ``"built-in"`` or the plug-in's distribution."""

    name: str
    description: str
    stage: int
    origin: str


@dataclass(frozen=True)
class _Source:
    name: str
    target: str  # module:attribute
    origin: str
    load: Callable[[], object]

    @property
    def where(self) -> str:
        if self.origin == BUILT_IN:
            return f"built-in agent {self.name!r} ({self.target})"
        return (
            f"plug-in agent {self.name!r} (entry point {self.name} = {self.target!r} "
            f"of distribution {self.origin!r})"
        )


class AgentRegistry:
    """The agents one process can run. ``plugins`` defaults to the installed entry points of
    the group ``mios.agents``; tests pass their own."""

    def __init__(
        self,
        builtins: Mapping[str, str] = BUILTIN_AGENTS,
        plugins: Iterable[EntryPoint] = (),
    ) -> None:
        sources: dict[str, _Source] = {}
        for name, target in builtins.items():
            sources[name] = _Source(name, target, BUILT_IN, _importer(target))
        for ep in sorted(plugins, key=lambda e: (e.name, _distribution(e))):
            source = _Source(ep.name, ep.value, _distribution(ep), ep.load)
            known = sources.get(ep.name)
            if known is None:
                sources[ep.name] = source
            elif (known.target, known.origin) != (source.target, source.origin):
                raise AgentLoadError(
                    f"two agents are named {ep.name!r}: the {known.where} and the "
                    f"{source.where}; uninstall one, or rename its entry point"
                )
        self._sources = sources

    @classmethod
    def discover(cls) -> AgentRegistry:
        """The built-ins and every plug-in installed in this environment."""
        return cls(plugins=entry_points(group=GROUP))

    def names(self) -> tuple[str, ...]:
        """Every agent's name, built-ins first; imports nothing."""
        return tuple(self._sources)

    def create(self, name: str) -> Agent:
        """A new instance of the agent called ``name``."""
        source = self._sources.get(name)
        if source is None:
            known = ", ".join(self._sources) or "none"
            raise UnknownAgent(f"no agent named {name!r}; known agents: {known}")
        return _build(source)

    def create_all(self) -> list[Agent]:
        """One instance of every agent; if any fails, the error names every one that did."""
        agents: list[Agent] = []
        failures: list[str] = []
        for source in self._sources.values():
            try:
                agents.append(_build(source))
            except AgentLoadError as exc:
                failures.append(str(exc))
        if failures:
            raise AgentLoadError("; ".join(failures))
        return agents

    def available(self) -> list[AgentSpec]:
        """Name, description, stage and origin of every agent, in stage order."""
        specs = [
            AgentSpec(a.name, a.description, a.stage, self._sources[a.name].origin)
            for a in self.create_all()
        ]
        return sorted(specs, key=lambda s: s.stage)  # stable: built-ins first within a stage


def available() -> list[AgentSpec]:
    """The agents installed in this environment (see ``AgentRegistry.available``)."""
    return AgentRegistry.discover().available()


def create(name: str) -> Agent:
    """A new instance of the installed agent called ``name``."""
    return AgentRegistry.discover().create(name)


def _importer(target: str) -> Callable[[], object]:
    module, _, attribute = target.partition(":")

    def load() -> object:
        found: object = importlib.import_module(module)
        for part in attribute.split("."):
            found = getattr(found, part)
        return found

    return load


def _distribution(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    name = getattr(dist, "name", None)
    return str(name) if name else "an unknown distribution"


def _build(source: _Source) -> Agent:
    try:
        loaded = source.load()
    except Exception as exc:  # a plug-in may raise anything at import; name it
        raise AgentLoadError(f"{source.where} failed to load: {type(exc).__name__}: {exc}") from exc
    # A class with the right attributes passes an isinstance check against the protocol,
    # so only an instance counts as an agent; anything else is a factory and is called.
    if isinstance(loaded, Agent) and not isinstance(loaded, type):
        agent: object = loaded
    elif callable(loaded):
        try:
            agent = loaded()
        except Exception as exc:  # a constructor failing is the plug-in's fault; name it
            raise AgentLoadError(
                f"{source.where} could not be built with no arguments: {type(exc).__name__}: {exc}"
            ) from exc
    else:
        raise AgentLoadError(f"{source.where} is a {type(loaded).__name__}, not a class")
    problem = _protocol_problem(agent, source.name)
    if problem:
        raise AgentLoadError(f"{source.where} is not an agent: {problem}")
    assert isinstance(agent, Agent)
    return agent


def _protocol_problem(agent: object, name: str) -> str | None:
    if not isinstance(agent, Agent):
        missing = [
            attr for attr in ("name", "description", "stage", "propose") if not hasattr(agent, attr)
        ]
        return f"{type(agent).__name__} lacks {', '.join(missing) or 'the protocol'}"
    if not callable(agent.propose):
        return "propose is not callable"
    if not isinstance(agent.name, str) or agent.name != name:
        return f"its name is {agent.name!r}, but it is registered as {name!r}"
    if not isinstance(agent.description, str) or not agent.description.strip():
        return "it has no description"
    # bool is an int, and True == BRIEF: a stage must be one of the three, not merely equal.
    stage = agent.stage
    if isinstance(stage, bool) or not isinstance(stage, int) or stage not in _STAGES:
        return f"its stage is {agent.stage!r}; stages are READ=0, BRIEF=1, ACT=2"
    return None

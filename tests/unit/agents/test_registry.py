"""The registry finds built-in agents by import path and plug-ins by entry point, and every
failure names the agent, the entry point and the distribution at fault."""

from __future__ import annotations

import importlib.util
import sys
import types
from importlib.metadata import EntryPoint, PathDistribution
from pathlib import Path

import pytest

from mios.agents.protocol import ACT, BRIEF, READ, AgentContext
from mios.agents.registry import (
    BUILT_IN,
    BUILTIN_AGENTS,
    AgentLoadError,
    AgentRegistry,
    AgentSpec,
    UnknownAgent,
)
from mios.domain.proposal import Proposal
from mios.errors import InputError

FAKE = "mios_fake_agents"


class Scout:
    name, description, stage = "scout", "Looks around.", READ

    def propose(self, ctx: AgentContext) -> list[Proposal]:
        return []


class Writer:
    name, description, stage = "writer", "Writes copy.", BRIEF

    def propose(self, ctx: AgentContext) -> list[Proposal]:
        return []


class Sender:
    name, description, stage = "sender", "Sends copy.", ACT

    def __init__(self, tone: str = "warm") -> None:
        self.tone = tone

    def propose(self, ctx: AgentContext) -> list[Proposal]:
        return []


class NoPropose:
    name, description, stage = "lazy", "Proposes nothing, not even a method.", ACT


class BadStage:
    name, description, stage = "late", "Runs after everyone.", 7

    def propose(self, ctx: AgentContext) -> list[Proposal]:
        return []


class TrueStage:
    name, description, stage = "truthy", "A stage that is a bool.", True

    def propose(self, ctx: AgentContext) -> list[Proposal]:
        return []


class NeedsArgs:
    name, description, stage = "needy", "Wants a key.", ACT

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key

    def propose(self, ctx: AgentContext) -> list[Proposal]:
        return []


def make_sender() -> Sender:
    return Sender(tone="dry")


@pytest.fixture(autouse=True)
def fake_module(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    module = types.ModuleType(FAKE)
    for obj in (Scout, Writer, Sender, NoPropose, BadStage, TrueStage, NeedsArgs, make_sender):
        setattr(module, obj.__name__, obj)
    module.Broken = property()  # type: ignore[attr-defined]
    module.WRITER = Writer()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, FAKE, module)
    return module


def distribution(root: Path, name: str, **eps: str) -> list[EntryPoint]:
    """Entry points of an installed distribution ``name`` (a ``.dist-info`` on disk)."""
    info = root / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    lines = "".join(f"{ep} = {target}\n" for ep, target in eps.items())
    (info / "entry_points.txt").write_text(f"[mios.agents]\n{lines}")
    return list(PathDistribution(info).entry_points)


def builtins(**names: str) -> dict[str, str]:
    return {name: f"{FAKE}:{attr}" for name, attr in names.items()}


def test_names_list_built_ins_first_and_import_nothing(tmp_path: Path) -> None:
    plugins = distribution(tmp_path, "acme-agents", sender="not_a_module_at_all:Sender")
    registry = AgentRegistry({"scout": "also_not_a_module:Scout"}, plugins)
    assert registry.names() == ("scout", "sender")


def test_available_lists_each_agent_with_its_origin_in_stage_order(tmp_path: Path) -> None:
    plugins = distribution(tmp_path, "acme-agents", sender=f"{FAKE}:Sender")
    registry = AgentRegistry(builtins(writer="Writer", scout="Scout"), plugins)
    assert registry.available() == [
        AgentSpec("scout", "Looks around.", READ, BUILT_IN),
        AgentSpec("writer", "Writes copy.", BRIEF, BUILT_IN),
        AgentSpec("sender", "Sends copy.", ACT, "acme-agents"),
    ]


def test_an_entry_point_may_name_a_class_a_factory_or_an_instance(tmp_path: Path) -> None:
    plugins = distribution(tmp_path, "acme", sender=f"{FAKE}:make_sender", writer=f"{FAKE}:WRITER")
    registry = AgentRegistry(builtins(), plugins)
    sender = registry.create("sender")
    assert isinstance(sender, Sender)
    assert sender.tone == "dry"
    assert isinstance(registry.create("writer"), Writer)


def test_create_gives_a_fresh_instance_each_time() -> None:
    registry = AgentRegistry(builtins(sender="Sender"))
    assert registry.create("sender") is not registry.create("sender")


def test_an_unknown_name_lists_the_known_ones() -> None:
    registry = AgentRegistry(builtins(scout="Scout", writer="Writer"))
    with pytest.raises(UnknownAgent, match=r"no agent named 'crm'; known agents: scout, writer"):
        registry.create("crm")
    assert issubclass(UnknownAgent, InputError)  # a person typed it: CLI exit code 2


def test_a_plug_in_that_fails_to_import_names_its_distribution(tmp_path: Path) -> None:
    plugins = distribution(tmp_path, "acme-agents", ghost="mios_no_such_module:Ghost")
    registry = AgentRegistry(builtins(), plugins)
    with pytest.raises(AgentLoadError) as caught:
        registry.create("ghost")
    message = str(caught.value)
    assert "entry point ghost = 'mios_no_such_module:Ghost'" in message
    assert "distribution 'acme-agents'" in message
    assert "ModuleNotFoundError" in message


@pytest.mark.parametrize(
    ("name", "target", "problem"),
    [
        ("lazy", "NoPropose", "NoPropose lacks propose"),
        ("late", "BadStage", "its stage is 7"),
        ("truthy", "TrueStage", "its stage is True"),
        ("needy", "NeedsArgs", "could not be built with no arguments"),
        ("impostor", "Scout", "its name is 'scout', but it is registered as 'impostor'"),
        ("broken", "Broken", "is a property, not a class"),
    ],
)
def test_a_plug_in_that_is_not_an_agent_is_refused_by_name(
    tmp_path: Path, name: str, target: str, problem: str
) -> None:
    plugins = distribution(tmp_path, "acme-agents", **{name: f"{FAKE}:{target}"})
    with pytest.raises(AgentLoadError, match="distribution 'acme-agents'") as caught:
        AgentRegistry(builtins(), plugins).create(name)
    assert problem in str(caught.value)


def test_a_plug_in_cannot_take_a_built_in_name(tmp_path: Path) -> None:
    plugins = distribution(tmp_path, "acme-agents", scout=f"{FAKE}:Scout")
    with pytest.raises(AgentLoadError, match="two agents are named 'scout'") as caught:
        AgentRegistry(builtins(scout="Scout"), plugins)
    assert "built-in agent 'scout'" in str(caught.value)
    assert "distribution 'acme-agents'" in str(caught.value)


def test_two_distributions_cannot_register_one_name(tmp_path: Path) -> None:
    first = distribution(tmp_path / "a", "acme-agents", sender=f"{FAKE}:Sender")
    second = distribution(tmp_path / "b", "other-agents", sender=f"{FAKE}:make_sender")
    with pytest.raises(AgentLoadError, match="two agents are named 'sender'") as caught:
        AgentRegistry(builtins(), [*first, *second])
    assert "'acme-agents'" in str(caught.value)
    assert "'other-agents'" in str(caught.value)


def test_one_distribution_seen_twice_counts_once(tmp_path: Path) -> None:
    first = distribution(tmp_path / "a", "acme-agents", sender=f"{FAKE}:Sender")
    again = distribution(tmp_path / "b", "acme-agents", sender=f"{FAKE}:Sender")
    assert AgentRegistry(builtins(), [*first, *again]).names() == ("sender",)


def test_a_missing_built_in_fails_alone_and_create_all_names_it() -> None:
    registry = AgentRegistry({**builtins(scout="Scout"), "crm": "mios_missing_crm:CrmAgent"})
    assert isinstance(registry.create("scout"), Scout)
    with pytest.raises(AgentLoadError, match=r"built-in agent 'crm' \(mios_missing_crm:CrmAgent\)"):
        registry.create_all()


def test_the_built_ins_are_the_five_specialists() -> None:
    assert list(BUILTIN_AGENTS) == ["research", "analytics", "content", "crm", "advertising"]
    assert all(t.startswith("mios.agents.builtin.") for t in BUILTIN_AGENTS.values())


@pytest.mark.parametrize("name", list(BUILTIN_AGENTS))
def test_each_built_in_loads_by_its_name(name: str) -> None:
    module = BUILTIN_AGENTS[name].partition(":")[0]
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not written yet")
    agent = AgentRegistry().create(name)
    assert agent.name == name
    assert agent.stage in (READ, BRIEF, ACT)

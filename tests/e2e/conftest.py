"""Workspaces for the end-to-end tests: one initialised template per module, copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.cli import enrol, shop_template


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shop_template(tmp_path_factory)


@pytest.fixture
def shop(template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "shop"
    shutil.copytree(template, target)
    return target


@pytest.fixture
def tokens(shop: Path) -> dict[str, str]:
    """Tokens of ``ada`` (admin) and of ``tests.support.cli.PEOPLE``, by user id."""
    return enrol(shop)

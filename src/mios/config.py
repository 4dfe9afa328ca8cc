"""Settings, built from an injected mapping (the environment in production, a dict in tests).
Nothing else in mios reads the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = ".mios"
DATABASE_FILE = "mios.db"


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None  # None: SQLite inside the workspace
    #: A pydantic-ai model string; when set, the built-in agents run on that model (LLM mode).
    llm_model: str | None = None

    @classmethod
    def from_mapping(cls, values: Mapping[str, str]) -> Settings:
        url = values.get("MIOS_DATABASE_URL", "").strip()
        model = values.get("MIOS_LLM_MODEL", "").strip()
        return cls(database_url=url or None, llm_model=model or None)

    def database_url_for(self, workspace: Path) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(workspace / DATA_DIR / DATABASE_FILE).resolve()}"

    def uses_workspace_file(self) -> bool:
        return self.database_url is None

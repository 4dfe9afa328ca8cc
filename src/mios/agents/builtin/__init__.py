"""The five built-in agents: offline, deterministic for a given seed."""

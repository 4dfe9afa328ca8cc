"""mios: a governed marketing intelligence system."""

from mios.__about__ import __version__

__all__ = ["__version__"]

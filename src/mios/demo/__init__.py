"""``mios demo``: cycles of mios on the simulated market, end to end.

An entry point like the CLI: it may drive ``mios.sim``, ``mios.context`` and ``mios.channels``;
no layer below imports it (import-linter enforces this). ``world`` writes the workspace whose
customers are the market's customers.
"""

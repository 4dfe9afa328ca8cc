"""The decision layer: forecasts with uncertainty, next-best action, budget allocation,
arbitration across agents, the human decision queue, explanations and off-policy evaluation.

NumPy and SciPy only; estimators follow the scikit-learn contract (``fit`` returns ``self``,
constructor arguments are stored unchanged, fitted attributes end in ``_``).
"""

"""Measurement: outcomes in, attributed to the actions that caused them, rolled up into KPIs
against the objective's goals and guardrails, budget pacing, and experiment read-outs."""

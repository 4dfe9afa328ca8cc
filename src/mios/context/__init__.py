"""The shared context: one versioned truth for every agent, the brain and people."""

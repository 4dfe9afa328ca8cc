"""A ground-truth market: scenarios with known response parameters, to run, test and score
marketing decisions offline. Ground truth is for tests and benchmarks only; agents and the brain
never read it."""

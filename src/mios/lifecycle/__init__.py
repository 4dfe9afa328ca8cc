"""The operating loop: durable Plan -> Execute -> Measure -> Optimize cycles."""

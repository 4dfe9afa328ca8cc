"""Specialist agents on one shared context and one objective. They propose; they never execute.

``protocol`` defines what an agent reads and returns; ``builtin`` holds the five offline agents
(research, analytics, content, CRM, advertising); ``planner`` runs them on one snapshot, stage by
stage, passing each stage's work to the next; ``registry`` finds them, third-party agents
included (entry-point group ``mios.agents``).
"""

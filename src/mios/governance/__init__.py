"""Human Command: policies as code, built-in checkers, autonomy, approvals, the audit trail and
the kill switch. Governance is the only gate between a decision and an execution."""

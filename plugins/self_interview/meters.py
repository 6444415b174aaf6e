"""The usage meters of self_interview, billed per unit (`core.usage.record_usage`)."""

COMPLETED = "self_interview.completed"  # one per self-interview the interviewee finished
FOLLOW_UPS = "self_interview.follow_ups"  # one per generated follow-up question asked

"""The usage meters of live_interview, billed per unit (`core.usage.record_usage`)."""

INTERVIEWS_HELD = "live_interview.interviews"  # one per interview whose room opened
RECORDED_MINUTES = "live_interview.recorded_minutes"  # recorded minutes of each segment, rounded up

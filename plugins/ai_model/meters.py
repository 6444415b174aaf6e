"""The usage meters of ai_model, billed per unit (`core.usage.record_usage`)."""

BUILDS = "ai_model.builds"  # one per model version built
PREDICTIONS = "ai_model.predictions"  # one per interview predicted, per source of features

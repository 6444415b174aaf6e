"""The meter of ethics_model, apart from its analysis (pandas, aif360) so the plugin loads light."""

ANALYSES = "ethics_model.analyses"  # one per analysis of a model version

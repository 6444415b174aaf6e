"""The meters of ethics_prediction, apart from its monitoring (pandas, aif360) so the plugin loads light."""

MONITORINGS = "ethics_prediction.monitorings"  # one per tenant and month snapshotted
ANALYSES = "ethics_prediction.analyses"  # one per analysis of a window of predictions

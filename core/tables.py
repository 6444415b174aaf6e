"""The platform's tables a plugin may read and refer to (foreign keys), and the reader for
their JSON columns. The others (sessions, tokens, plugin settings) are the platform's own."""

from core.db.json_columns import json_value
from core.db.tables import AuditEntry, FeatureValue, Job, Tenant, User

__all__ = ["AuditEntry", "FeatureValue", "Job", "Tenant", "User", "json_value"]

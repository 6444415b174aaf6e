"""The public REST API v1 (`/api/v1/t/{tenant}/...`): the platform's conventions that every
domain's and plugin's endpoints share (docs/api.md, "Conventions")."""

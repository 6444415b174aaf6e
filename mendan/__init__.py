"""mendan: the assembly of the platform, the domains and the plugins into one service."""

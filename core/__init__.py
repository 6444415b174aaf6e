"""mendan's core: the minimal platform every plugin stands on."""

__version__ = "0.1.0"

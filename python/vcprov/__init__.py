"""vcprov: configuration and provisioning automation for a videoconference network."""

__version__ = "0.1.0"

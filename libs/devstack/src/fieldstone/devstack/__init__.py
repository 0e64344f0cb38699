"""Local process supervisor for the Fieldstone services (no Docker needed)."""

from fieldstone.devstack.stack import SERVICES, Profile, Stack

__all__ = ["SERVICES", "Profile", "Stack"]

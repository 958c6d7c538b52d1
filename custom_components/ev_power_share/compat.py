"""Differences between the Home Assistant versions we support, in one place."""

try:  # Home Assistant 2026 validates with probatio, voluptuous-compatible
    import probatio as vol
except ImportError:  # Home Assistant 2025
    import voluptuous as vol  # type: ignore[no-redef,unused-ignore]

__all__ = ["vol"]

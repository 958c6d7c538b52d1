"""Differences between the Home Assistant versions we support, in one place."""

try:  # Home Assistant 2026 validates with probatio, voluptuous-compatible
    import probatio as vol
except ImportError:  # Home Assistant 2025
    import voluptuous as vol  # type: ignore[no-redef,unused-ignore]

try:  # Home Assistant 2026 types what a repair flow step returns
    from homeassistant.components.repairs import (  # type: ignore[attr-defined,unused-ignore]
        RepairsFlowResult,
    )
except ImportError:  # Home Assistant 2025: a plain flow result
    from homeassistant.data_entry_flow import (  # type: ignore[assignment,no-redef,unused-ignore]
        FlowResult as RepairsFlowResult,
    )

__all__ = ["RepairsFlowResult", "vol"]

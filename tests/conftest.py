"""Shared test set-up.

The pytest-homeassistant-custom-component plugin points Home Assistant at its own
testing_config/custom_components; importing our package here, before any ``hass``
fixture runs, makes Home Assistant find this integration.
"""

import custom_components.ev_power_share  # noqa: F401

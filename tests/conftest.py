"""Shared test set-up.

The pytest-homeassistant-custom-component plugin points Home Assistant at its own
testing_config/custom_components; importing our package here, before any ``hass``
fixture runs, makes Home Assistant find this integration.

Hypothesis profiles: ``dev`` (default) and ``ci`` (chosen by .ci/run through
HYPOTHESIS_PROFILE): no per-example deadline (the machines are shared), and in CI a
failing example is printed as a reproducible blob.
"""

import os

from hypothesis import settings

import custom_components.ev_power_share  # noqa: F401

settings.register_profile("dev", deadline=None)
settings.register_profile("ci", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

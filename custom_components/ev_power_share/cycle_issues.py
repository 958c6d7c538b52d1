"""The repair issues a control cycle raises: faulty inputs and design limits.

Kept apart from the cycle itself (``controller.py``) so the cycle reads as
readings in → snapshot → adjusters → allocator → command writer → sources.
"""

from __future__ import annotations

from collections.abc import Mapping
import logging
import time
from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN
from .core.design import DesignFigures, design_figures
from .core.model import Site

if TYPE_CHECKING:
    from .data import EvPowerShareConfigEntry

_LOGGER = logging.getLogger(__name__)
ISSUE_GUARANTEE = "guarantee_below_minimum"
ISSUE_BAD_INPUT = "port_input_invalid"
ISSUE_ADJUSTER = "site_input_failed"
LOG_INTERVAL_S = 300.0
"""A fault of the same kind is logged at most once in this time."""


class CycleIssues:
    """One site's cycle issues: raised while a fault lasts, withdrawn after."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EvPowerShareConfigEntry,
        group_names: Mapping[str, str],
    ) -> None:
        """``group_names``: what the user calls each group (by id)."""
        self.hass = hass
        self.entry = entry
        self.group_names = dict(group_names)
        self._design_key: object = None
        self._design: Mapping[str, DesignFigures] = {}
        self._design_issues: set[str] = set()
        self._input_problems: dict[str, tuple[str, str]] = {}
        """This cycle's faulty inputs: issue id -> (device, what is wrong)."""
        self._input_issues: set[str] = set()
        self._logged: dict[str, float] = {}

    def begin_cycle(self) -> None:
        """Forget the last cycle's faulty inputs (each cycle notes its own)."""
        self._input_problems = {}

    def problem(
        self, key: str, device: str, what: str, error: BaseException | None = None
    ) -> None:
        """Note a faulty input of this cycle (a repair issue names it); logged
        once per :data:`LOG_INTERVAL_S`."""
        issue_id = f"{key}_{self.entry.entry_id}"
        self._input_problems[issue_id] = (device, what)
        now = time.monotonic()
        if now - self._logged.get(key, -LOG_INTERVAL_S) >= LOG_INTERVAL_S:
            self._logged[key] = now
            _LOGGER.warning(
                "%s: %s; it is counted at the most it may draw (the others are "
                "allocated as usual)",
                device,
                what,
                exc_info=error,
            )

    def sync_inputs(self) -> None:
        """A repair issue per faulty input of this cycle; withdrawn once fixed."""
        for issue_id, (device, what) in self._input_problems.items():
            if issue_id not in self._input_issues:
                self._raise(
                    issue_id,
                    ir.IssueSeverity.ERROR,
                    ISSUE_BAD_INPUT
                    if issue_id.startswith(ISSUE_BAD_INPUT)
                    else ISSUE_ADJUSTER,
                    {"device": device, "problem": what[:200], "site": self.entry.title},
                )
        for issue_id in self._input_issues - set(self._input_problems):
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
        self._input_issues = set(self._input_problems)

    def design_figures(self, site: Site) -> Mapping[str, DesignFigures]:
        """Design figures, recomputed only when the installation changes."""
        key = (
            tuple(
                (g.id, g.parent, g.rating_a, g.continuous_factor, g.max_power_kw)
                for g in site.groups
            ),
            tuple((p.id, p.group, p.connection, p.max_a) for p in site.ports),
            site.min_current_a,
            tuple(self.group_names.values()),
        )
        if key != self._design_key:
            self._design_key = key
            self._design = design_figures(site)
            self._sync_design(site)
        return self._design

    def _sync_design(self, site: Site) -> None:
        """A repair issue per group whose design cannot give every port the minimum.

        With every port under it busy, such a group cannot give each vehicle the
        minimum current at once: vehicles will take turns (round robin). That may
        be intended, but the board should know the promise it cannot keep.
        """
        min_current_a = site.min_current_a
        names = self.group_names
        prefix = f"{ISSUE_GUARANTEE}_{self.entry.entry_id}_"
        wanted: set[str] = set()
        for gid, figures in self._design.items():
            guaranteed = figures.guaranteed_a
            if guaranteed is None or guaranteed >= min_current_a - 1e-6:
                continue
            issue_id = prefix + gid
            wanted.add(issue_id)
            self._raise(
                issue_id,
                ir.IssueSeverity.WARNING,
                ISSUE_GUARANTEE,
                {
                    "group": names.get(gid, gid),
                    "ports": str(figures.ports),
                    "guaranteed": f"{guaranteed:.1f}",
                    "minimum": f"{min_current_a:g}",
                },
            )
        for issue_id in self._design_issues - wanted:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
        self._design_issues = wanted

    def _raise(
        self,
        issue_id: str,
        severity: ir.IssueSeverity,
        key: str,
        placeholders: dict[str, str],
    ) -> None:
        """Raise (or update) one of the cycle's issues; none can be fixed here."""
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=severity,
            translation_key=key,
            translation_placeholders=placeholders,
        )

    def clear(self) -> None:
        """Withdraw every issue (the site is unloaded)."""
        for issue_id in self._design_issues | self._input_issues:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
        self._design_issues = set()
        self._input_issues = set()
        self._design_key = None

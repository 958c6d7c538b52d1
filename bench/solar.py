"""Benchmark solar surplus charging: a day at 5 s steps through the whole chain.

    .venv/bin/python bench/solar.py [--days N] [--quick]

Each day is a seeded synthetic trace (``simulator/solar_day.py``): a 6 kWp roof
on a partly cloudy summer day (passing cumulus shadows, thin cloud, minute-scale
noise; the ``summer`` scenario, whose ~4.9 kW peak barely exceeds a 3-phase
EV's 4.14 kW minimum) and, as an additional scenario, the same roof and sky on
a late-April day (``spring``: shorter day, ~5.4 kW peak), and a household with fridge, freezer, kettle, induction hob, oven,
washing machine and dishwasher. One EV is plugged in from 07:00 to 20:00 and
never fills up: a 3-phase one (230 V, 6–16 A: 4.1–11 kW) and a 1-phase one
(6–16 A: 1.4–3.7 kW), in ``solar`` and ``min_solar`` modes. Every 5 s step:
grid meter → ``SolarController`` → cap on ``Vehicle.max_a`` → core allocator (a
one-group site) → ``commands.plan_commands`` (1 A hysteresis) → a vehicle that
follows a decrease within one cycle and an increase within two
(``simulator/solar_replay.py``).

Definitions (per step, while the EV is plugged in):

* **surplus available**: the export there would be without the EV (PV −
  household load), counted only at steps where it is at least the EV's minimum
  power (6 A × phases × 230 V) — below that the EV cannot use it without
  importing — and at most its maximum power (16 A × phases × 230 V);
* **EV from surplus**: the EV's energy not taken from the grid, min(EV power,
  surplus without the EV), at those same steps;
* **share used** = EV from surplus / surplus available (cannot exceed 100 %);
  **of whole-amp** compares it with what an ideal controller, free of every
  delay but bound to whole amps and to no import, could have taken (the highest
  whole-amp power within the surplus at every usable step);
* **grid import caused**: what the EV draws beyond the surplus without it
  (e.g. at the minimum current while a cloud passes, or within the
  ``round_up_w`` allowance), over the whole period; the bench also prints what
  the allowance costs against ``round_up_w`` 0;
* **changes / charging h**: setpoint changes (every command that differs from
  the previous one, starts and stops included) per hour with a non-zero
  command.

This is a benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, replace
from pathlib import Path
import statistics
import sys

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from custom_components.ev_power_share.core.solar import ChargeMode, SolarSettings
from simulator.solar_day import SPRING, DayTrace, PvConfig, solar_day
from simulator.solar_replay import EvSpec, ReplayFigures, replay

EVS = (EvSpec("3-phase", phases=3), EvSpec("1-phase", phases=1))
GOAL_SHARE = 0.90
"""The goal for ``solar`` mode: at least this share of the surplus used…"""
GOAL_CHANGES_PER_H = 12.0
"""…with at most this many setpoint changes per charging hour."""
MODES = (ChargeMode.SOLAR, ChargeMode.MIN_SOLAR)


def _kwh(trace: DayTrace, values: tuple[float, ...]) -> float:
    return sum(values) * trace.step_s / 3.6e6


SCENARIOS = (
    ("summer", "6 kWp, partly cloudy summer day", PvConfig()),
    ("spring", "6 kWp, partly cloudy late-April day (higher peak)", SPRING),
)


def _table(
    days: list[DayTrace],
    settings: SolarSettings,
    clear: DayTrace | None,
) -> None:
    """The mean table and the day-by-day solar lines for one scenario."""
    results: dict[tuple[str, ChargeMode], list[ReplayFigures]] = {}
    for ev in EVS:
        for mode in MODES:
            results[ev.name, mode] = [replay(d, ev, mode, settings) for d in days]

    n = len(days)
    print(f"Mean per day over {n} day(s)")
    head = (
        f"{'EV':<8} {'mode':<10} {'surplus':>8} {'EV from':>8} {'share':>6} "
        f"{'of whole':>9} {'grid imp.':>9} {'changes /':>10} {'charging':>9} "
        f"{'starts':>7} {'longest':>8}"
    )
    sub = (
        f"{'':<8} {'':<10} {'avail.':>8} {'surplus':>8} {'used':>6} "
        f"{'amp':>9} {'by EV':>9} {'charg. h':>10} {'h':>9} {'':>7} {'import':>8}"
    )
    units = (
        f"{'':<8} {'':<10} {'kWh':>8} {'kWh':>8} {'%':>6} {'%':>9} {'kWh':>9} "
        f"{'':>10} {'':>9} {'':>7} {'s':>8}"
    )
    print(head, sub, units, sep="\n")
    for (name, mode), figs in results.items():
        avail = sum(f.surplus_available_kwh for f in figs)
        used = sum(f.ev_from_available_kwh for f in figs)
        whole = sum(f.whole_amp_kwh for f in figs)
        hours = sum(f.charging_h for f in figs)
        changes = sum(f.changes for f in figs)
        print(
            f"{name:<8} {mode.value:<10} {avail / n:>8.2f} "
            f"{sum(f.ev_from_surplus_kwh for f in figs) / n:>8.2f} "
            f"{100 * used / avail:>6.1f} {100 * used / whole:>9.1f} "
            f"{sum(f.grid_import_kwh for f in figs) / n:>9.2f} "
            f"{changes / hours:>10.1f} {hours / n:>9.1f} "
            f"{sum(f.starts for f in figs) / n:>7.1f} "
            f"{max(f.longest_import_s for f in figs):>8.0f}"
        )
    print(
        "(share used and changes per charging hour are ratios of the totals; "
        "longest import: the longest\n stretch with the EV importing more than "
        f"the {settings.import_tolerance_w:.0f} W tolerance + the "
        f"{settings.round_up_w:.0f} W round-up allowance, worst day; "
        f"disable delay {settings.disable_delay_s:.0f} s)"
    )

    print("\nSolar mode, day by day: share used % / changes per charging hour")
    print(f"{'day':<8} " + " ".join(f"{ev.name:>16}" for ev in EVS))
    rows = [*days, clear] if clear is not None else days
    for k, day in enumerate(rows):
        cells = []
        for ev in EVS:
            if day is clear:
                f = replay(day, ev, ChargeMode.SOLAR, settings)
            else:
                f = results[ev.name, ChargeMode.SOLAR][k]
            cells.append(f"{100 * f.share_used:6.1f} / {f.changes_per_hour:5.1f}")
        name = "clear" if day is clear else f"seed {day.seed}"
        print(f"{name:<8} " + " ".join(f"{c:>16}" for c in cells))
    for ev in EVS:
        figs = results[ev.name, ChargeMode.SOLAR]
        print(
            f"{ev.name}: share used median "
            f"{100 * statistics.median(f.share_used for f in figs):.1f} %, "
            "changes per charging hour worst day "
            f"{max(f.changes_per_hour for f in figs):.1f}"
        )
    for ev in EVS:
        figs = results[ev.name, ChargeMode.SOLAR]
        share = sum(f.ev_from_available_kwh for f in figs) / sum(
            f.surplus_available_kwh for f in figs
        )
        rate = sum(f.changes for f in figs) / sum(f.charging_h for f in figs)
        met = share >= GOAL_SHARE and rate <= GOAL_CHANGES_PER_H
        print(
            f"{ev.name}: goal (≥ {100 * GOAL_SHARE:.0f} % of the surplus used, "
            f"≤ {GOAL_CHANGES_PER_H:.0f} changes per charging hour, means over the "
            f"days) {'met' if met else 'NOT met'}: {100 * share:.1f} %, {rate:.1f}"
        )
    if settings.round_up_w > 0:
        strict = replace(settings, round_up_w=0.0)
        print(
            f"Cost of the {settings.round_up_w:.0f} W round-up allowance "
            "(solar mode, against round_up_w 0):"
        )
        for ev in EVS:
            figs = results[ev.name, ChargeMode.SOLAR]
            base = [replay(d, ev, ChargeMode.SOLAR, strict) for d in days]
            share = sum(f.ev_from_available_kwh for f in figs) / sum(
                f.surplus_available_kwh for f in figs
            )
            share0 = sum(f.ev_from_available_kwh for f in base) / sum(
                f.surplus_available_kwh for f in base
            )
            extra = [
                f.grid_import_kwh - b.grid_import_kwh
                for f, b in zip(figs, base, strict=True)
            ]
            rate = sum(f.changes for f in figs) / sum(f.charging_h for f in figs)
            rate0 = sum(f.changes for f in base) / sum(f.charging_h for f in base)
            print(
                f"  {ev.name}: share used {100 * share0:.1f} → {100 * share:.1f} %, "
                f"grid import +{sum(extra) / n:.2f} kWh a day (worst day "
                f"+{max(extra):.2f}), changes per charging hour {rate0:.1f} → "
                f"{rate:.1f}"
            )


def main() -> None:
    """Print the benchmark tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=5, help="seeds 1..N")
    parser.add_argument("--quick", action="store_true", help="one day")
    args = parser.parse_args()
    seeds = [1] if args.quick else list(range(1, args.days + 1))
    settings = SolarSettings()
    tuning = ", ".join(
        f"{k} {v}" if isinstance(v, bool) else f"{k} {v:g}"
        for k, v in asdict(settings).items()
        if k != "step_a"
    )
    print(f"SolarSettings (defaults): {tuning}")

    for key, title, pv in SCENARIOS:
        days = [solar_day(seed, pv) for seed in seeds]
        clear = (
            solar_day(0, replace(pv, cloud_rate_per_h=0.0, thin_periods=0))
            if key == "summer"
            else None
        )
        print(f"\n=== Scenario {key!r}: {title}; EV plugged in 07–20 h ===")
        for day in [*days, clear] if clear is not None else days:
            name = "clear" if day is clear else f"seed {day.seed}"
            export = sum(max(0.0, day.surplus_w(i)) for i in range(len(day)))
            print(
                f"  {name:<8} PV {_kwh(day, day.pv_w):5.1f} kWh (peak "
                f"{max(day.pv_w) / 1000:3.1f} kW)  household "
                f"{_kwh(day, day.load_w):5.1f} kWh  export without EV "
                f"{export * day.step_s / 3.6e6:5.1f} kWh"
            )
        print()
        _table(days, settings, clear)


if __name__ == "__main__":
    main()

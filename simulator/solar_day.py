"""A synthetic but realistic day of rooftop PV and household load, at 5 s steps.

Used by ``bench/solar.py`` and the solar replay tests. Everything comes from one
seeded :class:`random.Random`, so a seed always gives the same day.

**PV** (default: 6 kWp, 6 kW inverter, a partly cloudy summer day in central
Europe): a clear-sky bell ``peak × sin(π x)^1.3`` between sunrise and sunset
(``peak`` = 85 % of kWp at noon, after temperature and inverter losses; about
37 kWh on a clear day), multiplied by

* passing **clouds**: a Poisson stream of cumulus shadows (30 s to ~20 min, 35–
  85 % attenuation, 15–90 s edges) whose rate rises in the afternoon, and a few
  longer thin-cloud periods (20–70 min, 20–50 %); at a cloud's edge the panel
  briefly sees up to +12 % over clear sky (cloud enhancement);
* **minute-scale noise**: a first-order autoregressive process (σ ≈ 2 %,
  correlation time ≈ 90 s) plus ±0.5 % white noise per sample;
* clipping at the inverter's rating.

**Household load** (about 9–12 kWh a day): a base load with a slow random walk
(router, standby, heat-pump circulation), a fridge and a freezer with compressor
cycles and start-up spikes, a kettle three or four times a day, an induction hob
with 10–30 s power pulses at lunch and dinner, an electric oven at lunch or
dinner (heat-up, then a thermostat cycling 2.4 kW on and off), a washing machine
(heating, tumbling, spin) and a dishwasher (two heating phases), home-office
equipment, a vacuum cleaner some days, and lights and TV in the evening.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import math
import random

STEP_S = 5.0
DAY_S = 86400.0


@dataclass(frozen=True, slots=True)
class DayTrace:
    """One day: PV production and household (non-EV) consumption per step."""

    step_s: float
    pv_w: tuple[float, ...]
    load_w: tuple[float, ...]
    seed: int

    def __len__(self) -> int:
        """Number of steps."""
        return len(self.pv_w)

    def surplus_w(self, i: int) -> float:
        """What would be exported at step ``i`` without any EV (may be < 0)."""
        return self.pv_w[i] - self.load_w[i]

    def window(self, start_s: float, end_s: float) -> DayTrace:
        """The steps between two times of day."""
        a, b = int(start_s / self.step_s), int(end_s / self.step_s)
        return DayTrace(self.step_s, self.pv_w[a:b], self.load_w[a:b], self.seed)


@dataclass(frozen=True, slots=True)
class PvConfig:
    """The PV system and the sky."""

    kwp: float = 6.0
    inverter_kw: float = 6.0
    peak_ratio: float = 0.82
    """AC output at solar noon on a clear day, per kWp."""
    sunrise_h: float = 5.5
    sunset_h: float = 21.0
    shape: float = 1.6
    cloud_rate_per_h: float = 4.0
    """Mean number of cumulus shadows per hour (more in the afternoon)."""
    thin_periods: int = 3
    """Longer periods of thin, high cloud."""


SPRING = PvConfig(peak_ratio=0.9, sunrise_h=6.75, sunset_h=20.25)
"""The same roof and sky on a partly cloudy day in late April (CEST): a shorter
day, but cool panels and clear air give a higher peak (0.9 kW AC per kWp, ~5.4
kW), comfortably above a 3-phase EV's minimum power (4.14 kW)."""


def _trapezoid(t: float, start: float, ramp: float, hold: float) -> float:
    """0 → 1 over ``ramp``, 1 for ``hold``, 1 → 0 over ``ramp``."""
    x = t - start
    if x <= 0 or x >= 2 * ramp + hold:
        return 0.0
    if x < ramp:
        return x / ramp
    if x <= ramp + hold:
        return 1.0
    return (2 * ramp + hold - x) / ramp


def _end(cloud: tuple[float, float, float, float]) -> float:
    start, ramp, hold, _depth = cloud
    return start + 2 * ramp + hold


def pv_trace(rnd: random.Random, cfg: PvConfig, n: int, step_s: float) -> list[float]:
    """PV output (W) per step."""
    rise, set_ = cfg.sunrise_h * 3600, cfg.sunset_h * 3600
    peak = cfg.kwp * 1000 * cfg.peak_ratio

    # Clouds: (start, ramp, hold, depth). Cumulus shadows, denser after noon.
    clouds: list[tuple[float, float, float, float]] = []
    t = rise + 1800.0
    while cfg.cloud_rate_per_h > 0 and t < set_ - 1800.0:
        hour = t / 3600
        rate = cfg.cloud_rate_per_h * (0.5 if hour < 11 else 1.3 if hour < 17 else 0.8)
        t += rnd.expovariate(rate / 3600.0)
        hold = min(1200.0, rnd.lognormvariate(math.log(150.0), 0.9))
        clouds.append((t, rnd.uniform(15.0, 90.0), hold, rnd.uniform(0.35, 0.85)))
        if rnd.random() < 0.3:  # clouds come in small groups
            gap = rnd.uniform(60.0, 400.0)
            t2 = t + hold + gap
            hold2 = min(900.0, rnd.lognormvariate(math.log(90.0), 0.8))
            clouds.append((t2, rnd.uniform(15.0, 60.0), hold2, rnd.uniform(0.3, 0.8)))
            t = t2 + hold2
    clouds.extend(
        (
            rnd.uniform(rise + 3 * 3600, set_ - 3 * 3600),
            rnd.uniform(300.0, 900.0),
            rnd.uniform(1200.0, 4200.0),
            rnd.uniform(0.2, 0.5),
        )
        for _ in range(cfg.thin_periods)
    )
    clouds.sort()

    out: list[float] = []
    ar = 0.0
    phi = math.exp(-step_s / 90.0)
    sigma = 0.02 * math.sqrt(1 - phi * phi)
    first = 0
    for i in range(n):
        t = i * step_s
        if not rise < t < set_:
            out.append(0.0)
            continue
        clear = peak * math.sin(math.pi * (t - rise) / (set_ - rise)) ** cfg.shape
        factor = 1.0
        enhance = 0.0
        while first < len(clouds) and _end(clouds[first]) < t:
            first += 1
        for start, ramp, hold, depth in clouds[first:]:
            if start > t:
                break
            shade = _trapezoid(t, start, ramp, hold)
            if shade > 0.0:
                factor *= 1.0 - depth * shade
                # Cloud enhancement: bright edges while the shadow comes and goes.
                if shade < 1.0:
                    enhance = max(enhance, 0.12 * math.sin(math.pi * shade))
        ar = phi * ar + rnd.gauss(0.0, sigma)
        value = clear * (factor + enhance) * (1.0 + ar + rnd.uniform(-0.005, 0.005))
        out.append(max(0.0, min(cfg.inverter_kw * 1000, value)))
    return out


def _add_box(
    load: list[float], step_s: float, start_s: float, dur_s: float, watts: float
) -> None:
    a = max(0, int(start_s / step_s))
    b = min(len(load), int((start_s + dur_s) / step_s))
    for i in range(a, b):
        load[i] += watts


def _cycling(
    rnd: random.Random,
    load: list[float],
    step_s: float,
    start_s: float,
    end_s: float,
    watts: float,
    on_s: Callable[[], float],
    off_s: Callable[[], float],
) -> None:
    """A thermostat or compressor: ``watts`` on, then off, until ``end_s``."""
    t = start_s
    while t < end_s:
        on = min(on_s(), end_s - t)
        _add_box(load, step_s, t, on, watts * rnd.uniform(0.95, 1.05))
        t += on + off_s()


def load_trace(rnd: random.Random, n: int, step_s: float) -> list[float]:
    """Household consumption (W) per step."""
    h = 3600.0
    load = [0.0] * n
    # Base load: slow random walk around ~180 W.
    base = 180.0
    for i in range(n):
        base += rnd.gauss(0.0, 2.0) + (180.0 - base) * 0.002
        load[i] += max(90.0, base)
    # Fridge and freezer: compressor cycles with a start-up spike.
    for watts, on_m, off_m in ((95.0, 14.0, 28.0), (80.0, 18.0, 35.0)):
        t = rnd.uniform(0, off_m * 60)
        while t < n * step_s:
            on = rnd.uniform(0.7, 1.3) * on_m * 60
            _add_box(load, step_s, t, step_s, 250.0)  # start-up spike
            _add_box(load, step_s, t, on, watts)
            t += on + rnd.uniform(0.7, 1.3) * off_m * 60
    # Kettle.
    for at in (7.0, 10.5, 15.5, 20.0):
        if rnd.random() < 0.85:
            _add_box(
                load,
                step_s,
                (at + rnd.uniform(-0.5, 0.5)) * h,
                rnd.uniform(120.0, 240.0),
                2200.0,
            )
    # Induction hob: pulses at part power, lunch and dinner.
    for at, dur in ((12.0, 20.0), (18.5, 30.0)):
        start = (at + rnd.uniform(-0.4, 0.4)) * h
        _add_box(load, step_s, start, 240.0, 1800.0)  # bringing water to the boil
        _cycling(
            rnd,
            load,
            step_s,
            start + 240.0,
            start + dur * 60,
            1400.0,
            lambda: rnd.uniform(10.0, 30.0),
            lambda: rnd.uniform(10.0, 25.0),
        )
    # Oven: at lunch or at dinner.
    oven = (12.2 if rnd.random() < 0.5 else 18.2) + rnd.uniform(-0.3, 0.3)
    start = oven * h
    _add_box(load, step_s, start, 600.0, 2400.0)  # heat-up
    _cycling(
        rnd,
        load,
        step_s,
        start + 600.0,
        start + rnd.uniform(35.0, 60.0) * 60,
        2400.0,
        lambda: rnd.uniform(40.0, 80.0),
        lambda: rnd.uniform(60.0, 120.0),
    )
    # Washing machine: heating, tumbling (motor pulses), spin.
    start = rnd.uniform(9.0, 11.0) * h
    _add_box(load, step_s, start, rnd.uniform(600.0, 1200.0), 2000.0)
    t = start + 1200.0
    _cycling(
        rnd,
        load,
        step_s,
        t,
        t + 3600.0,
        250.0,
        lambda: rnd.uniform(10.0, 20.0),
        lambda: rnd.uniform(5.0, 10.0),
    )
    _add_box(load, step_s, t + 3600.0, 600.0, 450.0)
    # Dishwasher: two heating phases.
    start = rnd.uniform(13.0, 14.5) * h
    _add_box(load, step_s, start, 60.0 * rnd.uniform(8, 14), 2000.0)
    _add_box(load, step_s, start, 5400.0, 60.0)
    _add_box(load, step_s, start + 3600.0, 60.0 * rnd.uniform(8, 12), 2000.0)
    # Home office, vacuum cleaner, evening lights and TV.
    _add_box(load, step_s, 8.5 * h, 8.0 * h, 120.0)
    if rnd.random() < 0.5:
        _add_box(load, step_s, rnd.uniform(10.0, 16.0) * h, 900.0, 1200.0)
    _add_box(load, step_s, 19.0 * h, 4.0 * h, 220.0)
    return load


def solar_day(
    seed: int = 1, pv: PvConfig | None = None, step_s: float = STEP_S
) -> DayTrace:
    """One seeded day of PV and household load at ``step_s`` resolution."""
    rnd = random.Random(seed)  # noqa: S311 - a reproducible simulation
    n = int(DAY_S / step_s)
    cfg = pv or PvConfig()
    pv_w = pv_trace(rnd, cfg, n, step_s)
    load_w = load_trace(rnd, n, step_s)
    return DayTrace(
        step_s,
        tuple(round(x, 1) for x in pv_w),
        tuple(round(x, 1) for x in load_w),
        seed,
    )

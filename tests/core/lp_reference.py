"""An independent reference for equal share: max-min fairness by repeated LPs.

Built from the contract's text, not from the allocator's code: it reads the
scenario document itself and solves progressive filling with linear programs
(SciPy's HiGHS). Round k maximises the common level ``t`` of the ports not yet
fixed; a port that cannot rise above ``t`` in any feasible solution is fixed at
``t`` (one LP per candidate). Slow and plain on purpose: tests compare against it
and ``bench/allocator.py`` times it.

Scope: online ports with vehicles, no minimum current (the ``equal_share`` policy
with ``min_current_a`` = 0), ``draw_a`` unset. Offline ports count at their
failsafe current on all their legs; unmanaged currents below 0 count as 0.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_matrix, vstack

LEGS = {"L1": 0, "L2": 1, "L3": 2}
_TOL = 1e-7


def _legs(connection: str, phases: int) -> tuple[list[int], bool]:
    names = connection.split("-")
    legs = [LEGS[n] for n in names]
    if len(names) == 2:  # line to line: both legs, whatever the vehicle
        return legs, True
    return legs[: max(1, min(phases, len(legs)))], False


def _watts_per_amp(doc: dict[str, Any], legs: list[int], line_to_line: bool) -> float:
    supply = doc.get("supply", {})
    v_ln = float(supply.get("voltage_ln_v", 230.0))
    if line_to_line:
        factor = 2.0 if supply.get("system") == "split_phase" else math.sqrt(3.0)
        return factor * v_ln
    return len(legs) * v_ln


def build_problem(
    doc: dict[str, Any],
) -> tuple[list[str], csr_matrix, np.ndarray, np.ndarray]:
    """Port ids, constraint matrix A, capacities b (A x <= b) and upper bounds."""
    groups = {g["id"]: g for g in doc["groups"]}
    supply = doc.get("supply", {})
    n_legs = {"split_phase": 2, "single_phase": 1}.get(supply.get("system"), 3)
    v_ln = float(supply.get("voltage_ln_v", 230.0))

    def chain(gid: str) -> list[str]:
        out = []
        current: str | None = gid
        while current is not None:
            out.append(current)
            current = groups[current].get("parent")
        return out

    rows: dict[tuple[str, Any], int] = {}
    caps: list[float] = []
    for gid, g in groups.items():
        unmanaged = [max(0.0, float(u)) for u in (g.get("unmanaged_a") or [])]
        unmanaged += [0.0] * (3 - len(unmanaged))
        if g.get("rating_a") is not None:
            limit = float(g["rating_a"]) * float(g.get("continuous_factor", 0.8))
            for leg in range(n_legs):
                rows[gid, leg] = len(caps)
                caps.append(limit - unmanaged[leg])
        if g.get("max_power_kw") is not None:
            rows[gid, "P"] = len(caps)
            caps.append(float(g["max_power_kw"]) * 1000.0 - v_ln * sum(unmanaged))

    ids: list[str] = []
    upper: list[float] = []
    entries: list[tuple[int, int, float]] = []
    min_current = float(doc.get("min_current_a", 6.0))
    for port in doc.get("ports", []):
        ev = port.get("ev")
        online = port.get("online", True)
        if not online:
            failsafe = port.get("failsafe_a")
            amps = min_current if failsafe is None else float(failsafe)
            legs = [LEGS[n] for n in port["connection"].split("-")]
            l2l = len(legs) == 2
            wpa = _watts_per_amp(doc, legs, l2l)
            for gid in chain(port["group"]):
                for leg in legs:
                    if (gid, leg) in rows:
                        caps[rows[gid, leg]] -= amps
                if (gid, "P") in rows:
                    caps[rows[gid, "P"]] -= amps * wpa
            continue
        if ev is None:
            continue
        legs, l2l = _legs(port["connection"], int(ev.get("phases", 3)))
        wpa = _watts_per_amp(doc, legs, l2l)
        col = len(ids)
        ids.append(port["id"])
        upper.append(min(float(port["max_a"]), float(ev.get("max_a", port["max_a"]))))
        for gid in chain(port["group"]):
            entries.extend(
                (rows[gid, leg], col, 1.0) for leg in legs if (gid, leg) in rows
            )
            if (gid, "P") in rows:
                entries.append((rows[gid, "P"], col, wpa))
    a = csr_matrix(
        (
            [e[2] for e in entries],
            ([e[0] for e in entries], [e[1] for e in entries]),
        ),
        shape=(len(caps), len(ids)),
    )
    return ids, a, np.array(caps, dtype=float), np.array(upper, dtype=float)


def maxmin_reference(doc: dict[str, Any]) -> dict[str, float]:
    """Max-min fair currents (port id → A) for the online ports with vehicles."""
    ids, a, b, upper = build_problem(doc)
    n = len(ids)
    if n == 0:
        return {}
    fixed: dict[int, float] = {}
    # Columns: x_0 … x_{n-1}, t.
    a_cap = csr_matrix(np.hstack([a.toarray(), np.zeros((a.shape[0], 1))]))
    while len(fixed) < n:
        free = [i for i in range(n) if i not in fixed]
        bounds = [
            (fixed[i], fixed[i]) if i in fixed else (0.0, upper[i]) for i in range(n)
        ] + [(0.0, None)]
        # x_i >= t for free ports:  t - x_i <= 0
        rise = np.zeros((len(free), n + 1))
        for row, i in enumerate(free):
            rise[row, i] = -1.0
            rise[row, n] = 1.0
        a_ub = vstack([a_cap, csr_matrix(rise)]).tocsr()
        b_ub = np.concatenate([b, np.zeros(len(free))])
        c = np.zeros(n + 1)
        c[n] = -1.0
        res = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
        if res.status != 0:
            raise RuntimeError(f"reference LP failed: {res.message}")
        level = float(res.x[n])
        # Which free ports cannot go above ``level``? One LP that pushes all of
        # them up clears most; each remaining candidate gets an LP of its own.
        bounds_t = [*bounds[:n], (level - _TOL, None)]
        c_all = np.zeros(n + 1)
        c_all[free] = -1.0
        res_all = linprog(c_all, A_ub=a_ub, b_ub=b_ub, bounds=bounds_t, method="highs")
        if res_all.status != 0:
            raise RuntimeError(f"reference LP failed: {res_all.message}")
        newly: list[int] = []
        for slack in (1e-5, 1e-4):  # HiGHS is exact to about 1e-7 per row
            for i in free:
                if upper[i] <= level + slack or res_all.x[i] > level + slack:
                    if upper[i] <= level + slack:
                        newly.append(i)
                    continue
                c_i = np.zeros(n + 1)
                c_i[i] = -1.0
                res_i = linprog(
                    c_i, A_ub=a_ub, b_ub=b_ub, bounds=bounds_t, method="highs"
                )
                if res_i.status != 0:
                    raise RuntimeError(f"reference LP failed: {res_i.message}")
                if -res_i.fun <= level + slack:
                    newly.append(i)
            if newly:
                break
        if not newly:
            raise RuntimeError(f"reference: no port is blocked at level {level}")
        for i in newly:
            fixed[i] = min(level, upper[i])
    return {ids[i]: fixed[i] for i in range(n)}

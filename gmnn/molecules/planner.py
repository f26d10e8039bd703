"""The data-budget planner of a molecule study: how many accurate labels, and how many
CPU-hours of labelling, reach a target test error in each setting.

Per setting, the learning curve (test error against the number of accurate labels ``n``,
one point per seed) is fitted with a power law ``err = a n^-b`` or, where the data
support it, ``err = a n^-b + c`` (:func:`fit_power_law`, :func:`scipy.optimize.curve_fit`;
the offset ``c`` is an error floor the curve approaches). The uncertainty of the fit is
its covariance matrix (residual variance scaled, ``absolute_sigma=False``); the
uncertainty of the answer is the 16th to 84th percentile of the label count over
parameters drawn from that covariance (seeded, so the same results give the same card).

The planner refuses to answer beyond what the curve supports:

- fewer than :data:`MIN_SIZES` distinct label counts: no fit (two points fix a power law
  exactly and say nothing about its uncertainty);
- a target below the fitted floor ``c``: unreachable in this setting;
- a label count more than ``max_extrapolation`` times the largest measured one
  (:data:`MAX_EXTRAPOLATION` by default): refused, with the factor it would take.

The cost is the label count times the measured CPU seconds per accurate label
(``meta["label_cost"]["cpu_s_mean"]`` of the accurate data file); labels computed elsewhere
carry no measured cost, and the planner then gives the labels alone.

Units: errors as in the results (kcal/mol, kcal/mol/Å); hours of CPU time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

MIN_SIZES = 3
"""Distinct label counts a learning curve needs for a fit with an uncertainty."""

MIN_SIZES_OFFSET = 4
"""Distinct label counts before the offset ``c`` is tried (three parameters)."""

MAX_EXTRAPOLATION = 4.0
"""Default: no answer beyond this factor of the largest measured label count."""

DRAWS = 4000
"""Parameter draws from the fit's covariance for the range of the answer."""


@dataclass(frozen=True)
class PowerLawFit:
    """``err = a n^-b (+ c)`` fitted to a learning curve, with the parameters' covariance."""

    a: float
    b: float
    c: float  # 0 without the offset
    covariance: np.ndarray  # 2x2 (a, b) or 3x3 (a, b, c)
    offset: bool
    sizes: tuple[int, ...]  # the distinct label counts measured
    n_points: int

    @property
    def n_max(self) -> int:
        return max(self.sizes)

    @property
    def params(self) -> np.ndarray:
        return np.array([self.a, self.b, self.c] if self.offset else [self.a, self.b])

    @property
    def sd(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.covariance), 0.0, None))

    def predict(self, n) -> np.ndarray:
        return _model(np.asarray(n, dtype=float), *self.params)

    def labels_for(self, target: float, params: np.ndarray | None = None) -> float:
        """The label count at which the fitted curve reaches ``target`` (inf if never,
        or beyond any count a float holds)."""
        a, b, *rest = self.params if params is None else params
        c = rest[0] if rest else 0.0
        if not (a > 0 and b > 0) or target <= c:
            return math.inf
        log_n = (math.log(a) - math.log(target - c)) / b
        return math.exp(log_n) if log_n < 700 else math.inf

    def labels_range(self, target: float, seed: int = 0) -> tuple[float, float]:
        """16th and 84th percentile of :meth:`labels_for` over parameters drawn from the
        covariance (an unreachable draw counts as infinitely many labels)."""
        rng = np.random.default_rng(seed)
        cov = np.nan_to_num(self.covariance, nan=0.0, posinf=0.0, neginf=0.0)
        draws = rng.multivariate_normal(self.params, cov, size=DRAWS, check_valid="ignore")
        n = np.array([self.labels_for(target, p) for p in draws])
        lo, hi = np.percentile(n, [16, 84])
        return float(lo), float(hi)

    def describe(self) -> dict:
        names = ("a", "b", "c") if self.offset else ("a", "b")
        out = {"model": "a n^-b + c" if self.offset else "a n^-b"}
        for name, value, sd in zip(names, self.params, self.sd, strict=True):
            out[name] = _round(value)
            out[f"{name}_sd"] = _round(sd)
        out["sizes"] = list(self.sizes)
        out["n_points"] = self.n_points
        return out


def _model(n, a, b, c=0.0):
    return a * np.power(n, -b) + c


def fit_power_law(n: Sequence[float], err: Sequence[float], offset: bool | None = None):
    """Fit ``err = a n^-b`` (``offset`` False), ``a n^-b + c`` (True) or, with None, the
    offset only where at least :data:`MIN_SIZES_OFFSET` label counts are measured and the
    fitted ``c`` is more than twice its standard error above zero (else the plain law).

    Raises:
        ValueError: fewer than :data:`MIN_SIZES` distinct label counts, a non-positive
            count or error, or a fit that does not converge.
    """
    from scipy.optimize import curve_fit

    n, err = np.asarray(n, dtype=float), np.asarray(err, dtype=float)
    keep = np.isfinite(n) & np.isfinite(err)
    n, err = n[keep], err[keep]
    sizes = tuple(sorted({int(x) for x in n}))
    if len(sizes) < MIN_SIZES:
        raise ValueError(
            f"{len(sizes)} label count(s) {list(sizes)}: a fit needs at least {MIN_SIZES}"
        )
    if (n <= 0).any() or (err <= 0).any():
        raise ValueError("label counts and errors must be positive")
    # a start from the straight line through log err against log n
    slope, intercept = np.polyfit(np.log(n), np.log(err), 1)
    start = [math.exp(intercept), max(-slope, 1e-3)]
    tries = [False, True] if offset is None else [bool(offset)]
    if offset is None and len(sizes) < MIN_SIZES_OFFSET:
        tries = [False]
    fits = []
    for with_c in tries:
        p0 = start + ([0.5 * float(err.min())] if with_c else [])
        lower = [0.0, 0.0] + ([0.0] if with_c else [])
        upper = [np.inf, 10.0] + ([float(err.max())] if with_c else [])
        p0 = np.clip(p0, lower, [u if np.isfinite(u) else np.inf for u in upper])
        try:
            params, cov = curve_fit(
                _model if with_c else (lambda x, a, b: _model(x, a, b)),
                n,
                err,
                p0=p0,
                bounds=(lower, upper),
                maxfev=20000,
            )
        except (RuntimeError, ValueError) as e:
            if not with_c:
                raise ValueError(f"the power-law fit did not converge: {e}") from None
            continue
        fits.append(
            PowerLawFit(
                a=float(params[0]),
                b=float(params[1]),
                c=float(params[2]) if with_c else 0.0,
                covariance=np.asarray(cov, dtype=float),
                offset=with_c,
                sizes=sizes,
                n_points=len(n),
            )
        )
    if offset is None and len(fits) == 2:
        with_c = fits[1]
        c_sd = with_c.sd[2]
        if np.isfinite(c_sd) and with_c.c > 2 * c_sd:
            return with_c
    return fits[0]


def plan_setting(
    n: Sequence[float],
    err: Sequence[float],
    target: float,
    *,
    cpu_s_per_label: float | None = None,
    max_extrapolation: float = MAX_EXTRAPOLATION,
    offset: bool | None = None,
) -> dict:
    """The planner's answer for one learning curve (points ``n``, ``err``; one per seed).

    Returns a record: ``status`` (``ok``; ``reached``: the smallest measured count is
    enough; ``refused``: beyond ``max_extrapolation`` times the largest measured count;
    ``unreachable``: the target is below the fitted floor; ``no_fit``: too few counts or
    no convergence), ``reason`` in words, the ``fit`` (:meth:`PowerLawFit.describe`),
    ``n_labels`` (rounded up) with ``n_labels_range`` (16th-84th percentile) and, given
    the cost per label, ``cpu_hours`` with ``cpu_hours_range``.
    """
    try:
        fit = fit_power_law(n, err, offset)
    except ValueError as e:
        return {"status": "no_fit", "reason": str(e)}
    out = {"fit": fit.describe()}
    limit = max_extrapolation * fit.n_max
    need = fit.labels_for(target)
    if fit.offset and target <= fit.c:
        return {
            **out,
            "status": "unreachable",
            "reason": f"the fitted curve levels off at {fit.c:.3g}, above the target {target:g}",
        }
    if not math.isfinite(need):
        return {
            **out,
            "status": "refused",
            "reason": f"the fitted curve barely falls (b = {fit.b:.2g}): no label count within "
            f"{max_extrapolation:g} times the largest measured one ({fit.n_max}) reaches "
            f"{target:g}",
        }
    if need > limit:
        return {
            **out,
            "status": "refused",
            "reason": f"the fit would need about {need:.3g} labels, {need / fit.n_max:.1f} times "
            f"the largest measured count {fit.n_max}; the planner does not extrapolate beyond "
            f"{max_extrapolation:g} times it ({limit:.0f})",
        }
    lo, hi = fit.labels_range(target)
    n_min = min(fit.sizes)
    if need <= n_min:
        status, labels = "reached", n_min
        reason = f"the smallest measured count, {n_min}, already reaches {target:g}"
    else:
        status, labels = "ok", int(math.ceil(need))
        where = "within" if need <= fit.n_max else "beyond"
        reason = f"{where} the measured counts ({n_min} to {fit.n_max})"
        if hi > limit:
            reason += f"; the upper end of the range is beyond {max_extrapolation:g} x {fit.n_max}"
    # already reached: the fit's range below the measured counts is no answer
    rng = None if status == "reached" else [_round(lo), _round(min(hi, math.inf))]
    out.update(status=status, reason=reason, n_labels=labels, n_labels_range=rng)
    if cpu_s_per_label is not None:
        out["cpu_hours"] = _round(labels * cpu_s_per_label / 3600)
        out["cpu_hours_range"] = (
            None
            if rng is None
            else [
                _round(x * cpu_s_per_label / 3600) if math.isfinite(x) else None for x in (lo, hi)
            ]
        )
    return out


def plan(
    records: Iterable[Mapping],
    *,
    metric: str,
    target: float,
    cpu_s_per_label: float | None = None,
    max_extrapolation: float = MAX_EXTRAPOLATION,
    exclude: Sequence[str] = ("pretrained",),
) -> dict:
    """The planner's answer for every setting of ``records`` (evaluation records or rows of
    the errors table: ``setting``, ``n_train``, ``seed`` and ``metric``), as the card
    holds it: ``metric``, ``target``, ``max_extrapolation``, ``cpu_s_per_label``,
    ``cost`` (what the hours count) and ``settings`` (setting -> :func:`plan_setting`).
    Rows with ``n_train`` 0 (a model used without accurate labels) are not a curve."""
    by_setting: dict[str, list[tuple[float, float]]] = {}
    for r in records:
        value = r.get(metric)
        if r["setting"] in exclude or not r.get("n_train") or value is None:
            continue
        if isinstance(value, float) and math.isnan(value):
            continue
        by_setting.setdefault(str(r["setting"]), []).append((float(r["n_train"]), float(value)))
    settings = {}
    for setting, points in sorted(by_setting.items()):
        n, err = zip(*points, strict=True)
        settings[setting] = plan_setting(
            n,
            err,
            target,
            cpu_s_per_label=cpu_s_per_label,
            max_extrapolation=max_extrapolation,
        )
    return {
        "metric": metric,
        "target": target,
        "max_extrapolation": max_extrapolation,
        "cpu_s_per_label": cpu_s_per_label,
        "cost": "labelling the accurate level only (measured CPU seconds per label times the "
        "labels); training is extra"
        if cpu_s_per_label is not None
        else "no measured label cost (labels computed elsewhere): labels only",
        "settings": settings,
    }


def _round(x: float) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return float(f"{x:.4g}")


__all__ = [
    "MAX_EXTRAPOLATION",
    "MIN_SIZES",
    "PowerLawFit",
    "fit_power_law",
    "plan",
    "plan_setting",
]

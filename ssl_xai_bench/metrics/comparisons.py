"""Paired comparisons of methods: a difference test, an equivalence test and what they can show.

Every comparison is paired by test source: the unit is the per-source mean of the per-window
difference ``method - reference`` (windows of one utterance are not independent;
:func:`ssl_xai_bench.metrics.stats.source_means`). For each comparison:

- **difference**: the two-sided Wilcoxon signed-rank test (``scipy.stats.wilcoxon``'s default:
  exact for up to 50 differences without ties or zeros, the exact sign-flip permutation test
  for up to 13 with them, the normal approximation otherwise; :func:`signed_rank_test`), Holm-
  corrected over the comparisons of one *family* (:func:`holm`, equal to
  ``statsmodels.stats.multitest.multipletests(method="holm")``, which a test pins: statsmodels'
  Holm branch calls ``gc.collect()`` on every call, 50 ms with a run's heap, and a results folder
  has tens of thousands of families);
- **equivalence** (TOST, two one-sided tests): the location of the differences lies within
  ``(-margin, +margin)``: one-sided Wilcoxon of ``d + margin > 0`` and of ``d - margin < 0``, the
  larger p of the two, Holm-corrected over the same family. The margin is the metric's practical
  margin, stated in its :class:`~ssl_xai_bench.metrics.spec.MetricSpec` before any data were seen
  (``docs/metrics.md``, "Equivalence margins"); without one, equivalence is not tested;
- **attainable p**: the smallest Holm-adjusted p the difference test could reach with these
  ``n`` sources and this family: ``k * 2 / 2**n`` (all ``n`` differences of one sign, the
  smallest raw p, multiplied by the family size ``k``). With 8 sources and 9 comparisons it is
  0.070: no outcome of the data could be significant at 0.05, and saying "tied" would report the
  design, not the methods.

The **outcome** of ``method`` against ``reference`` (in the metric's direction):
``better`` / ``worse`` (Holm p < alpha; the sign of the mean difference decides which),
``equivalent`` (TOST Holm p < alpha, or every per-source difference exactly 0),
``underpowered`` (neither, and the attainable p is not below alpha: the design could not
separate them), ``undetermined`` (neither, though it could have). Non-significance is never read
as a tie.

**Families.** The attribution methods compared with one reference form one Holm family.
Controls (``random``, ``energy``) are reference rows, not competitors: their comparisons with the
reference form a family of their own, so adding a control never weakens a method comparison.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats as sps

ALPHA = 0.05
OUTCOMES = ("better", "worse", "equivalent", "underpowered", "undetermined")
METHODS_FAMILY, CONTROLS_FAMILY = "methods", "controls"
COLUMNS = ["method", "reference", "role", "n_sources", "mean_diff", "statistic", "p_value",
           "p_holm", "family_size", "p_attainable", "margin", "p_equivalence",
           "p_equivalence_holm", "outcome"]


def min_attainable_p(n: int, alternative: str = "two-sided") -> float:
    """Smallest p of the exact Wilcoxon signed-rank test with ``n`` non-zero pairs.

    ``2 / 2**n`` two-sided, ``1 / 2**n`` one-sided (every difference of one sign); 1 for n = 0.
    """
    if n <= 0:
        return 1.0
    return min(1.0, (2.0 if alternative == "two-sided" else 1.0) / 2.0**n)


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values; NaN entries stay NaN and are not counted.

    Parameters
    ----------
    p_values : array (K,)

    Returns
    -------
    array (K,)
        ``min(1, max_{j <= i} (m - j + 1) p_(j))`` for the ``i``-th smallest of the ``m`` finite
        p-values (monotone in the raw order, capped at 1).
    """
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m:
        order = ok[np.argsort(p[ok], kind="stable")]
        out[order] = np.minimum(np.maximum.accumulate((m - np.arange(m)) * p[order]), 1.0)
    return out


def signed_rank_test(d: np.ndarray, alternative: str = "two-sided") -> tuple[float, float]:
    """The Wilcoxon signed-rank test of ``d``, exactly as ``scipy.stats.wilcoxon`` computes it.

    Where scipy's default method is the sign-flip permutation test (n <= 13 with ties or zeros),
    scipy evaluates the rank statistic once per sign pattern in a Python loop (0.24 s per call:
    most of a default run's table time). The same ``scipy.stats.permutation_test`` is called
    here with a vectorised statistic, since the ranks of ``|d|`` do not change under sign flips.
    Same null distribution, same p (a test pins the equality); scipy itself everywhere else.

    Parameters
    ----------
    d : array (n,)
        Paired differences (here: per-source means).
    alternative : {"two-sided", "greater", "less"}

    Returns
    -------
    (statistic, p) : tuple of float
        scipy's statistic (``min(R+, R-)`` two-sided, ``R+`` one-sided) and p; both NaN when
        n < 2 or every difference is 0.
    """
    nonzero = d != 0
    if d.size < 2 or not nonzero.any():
        return float("nan"), float("nan")
    magnitudes = np.abs(d[nonzero])
    has_ties = np.unique(magnitudes).size < magnitudes.size
    if d.size > 13 or not (has_ties or magnitudes.size < d.size):
        res = sps.wilcoxon(d, alternative=alternative)
        return float(res.statistic), float(res.pvalue)
    ranks = np.zeros(d.size)
    ranks[nonzero] = sps.rankdata(magnitudes)

    def r_plus(x: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.sum(np.where(x > 0, ranks, 0.0), axis=axis)

    p = sps.permutation_test((d,), r_plus, permutation_type="samples", vectorized=True,
                             alternative=alternative).pvalue
    plus = float(r_plus(d))
    statistic = min(plus, float(ranks.sum()) - plus) if alternative == "two-sided" else plus
    return statistic, float(p)


def signed_rank_tests(d: np.ndarray, alternative: str = "two-sided") -> tuple[np.ndarray,
                                                                                 np.ndarray]:
    """:func:`signed_rank_test` of every row of ``d`` ``(k, n)``: ``(statistics, p)``, ``(k,)``.

    Rows without zeros or tied magnitudes (n <= 50) are the ones scipy tests with the exact null
    distribution; they go to one vectorised ``scipy.stats.wilcoxon`` call (per row the same
    arithmetic, so the same numbers as one call per row, at a fraction of the call overhead: a
    default run makes ~28,000 of these tests). Every other row is tested alone.
    """
    d = np.asarray(d, dtype=np.float64)
    if d.ndim != 2:
        raise ValueError(f"d: expected shape (k, n), got {d.shape}")
    k, n = d.shape
    statistic, p = np.full(k, np.nan), np.full(k, np.nan)
    magnitudes = np.sort(np.abs(d), axis=1)
    exact = np.zeros(k, dtype=bool)
    if 2 <= n <= 50:
        exact = (magnitudes[:, 0] > 0) & np.all(np.diff(magnitudes, axis=1) > 0, axis=1)
    if exact.any():
        res = sps.wilcoxon(d[exact], alternative=alternative, axis=-1)
        statistic[exact], p[exact] = res.statistic, res.pvalue
    for i in np.flatnonzero(~exact):
        statistic[i], p[i] = signed_rank_test(d[i], alternative)
    return statistic, p


def equivalence_ps(d: np.ndarray, margin: float) -> np.ndarray:
    """:func:`equivalence_p` of every row of ``d`` ``(k, n)``, ``(k,)``."""
    d = np.asarray(d, dtype=np.float64)
    out = np.full(d.shape[0], np.nan)
    if not np.isfinite(margin) or margin <= 0 or d.shape[1] < 2:
        return out
    zero = ~np.any(d != 0, axis=1)
    out[zero] = 0.0
    if (~zero).any():
        _, p_low = signed_rank_tests(d[~zero] + margin, "greater")
        _, p_high = signed_rank_tests(d[~zero] - margin, "less")
        out[~zero] = np.maximum(p_low, p_high)
    return out


def equivalence_p(d: np.ndarray, margin: float) -> float:
    """TOST p that the location of ``d`` lies within ``(-margin, margin)`` (NaN if untestable).

    The larger p of the one-sided Wilcoxon tests of ``d + margin > 0`` and ``d - margin < 0``;
    0 when every difference is exactly 0 (identical scores are equivalent for any margin).
    """
    return float(equivalence_ps(np.asarray(d, dtype=np.float64)[None, :], margin)[0])


def outcome(mean_diff: float, p_holm: float, p_equivalence_holm: float, p_attainable: float,
            direction: str, identical: bool = False, alpha: float = ALPHA) -> str:
    """One of :data:`OUTCOMES` for ``method`` against ``reference`` (module docstring)."""
    if identical:
        return "equivalent"
    if np.isfinite(p_holm) and p_holm < alpha and mean_diff != 0:
        up = mean_diff > 0
        return "better" if up == (direction == "up") else "worse"
    if np.isfinite(p_equivalence_holm) and p_equivalence_holm < alpha:
        return "equivalent"
    if not p_attainable < alpha:
        return "underpowered"
    return "undetermined"


@dataclass(frozen=True)
class PairStats:
    """The raw tests of ``a - b`` over per-source means (before any family correction)."""

    n_sources: int
    mean_diff: float
    statistic: float
    p_value: float
    p_equivalence: float
    identical: bool

    def flipped(self) -> PairStats:
        """The same tests of ``b - a`` (both tests are symmetric in the sign)."""
        return replace(self, mean_diff=-self.mean_diff + 0.0)  # + 0.0: no "-0.0" in a table


class PairCache:
    """Per-pair statistics of one metric's per-window scores, each unordered pair tested once
    and shared by every reference (``paired_tests_all.csv`` uses every method in turn)."""

    def __init__(self, source_ids: np.ndarray, margin: float | None) -> None:
        self.codes = np.unique(np.asarray(source_ids), return_inverse=True)[1]
        self.margin = float("nan") if margin is None else float(margin)
        self._stats: dict[tuple[str, str], PairStats] = {}

    def get(self, a: str, values_a: np.ndarray, b: str, values_b: np.ndarray) -> PairStats:
        """The tests of ``a - b``."""
        if (b, a) in self._stats:
            return self._stats[(b, a)].flipped()
        if (a, b) not in self._stats:
            self._test([(a, b)], [self._diff(values_a, values_b)])
        return self._stats[(a, b)]

    def prime(self, per_window: Mapping[str, np.ndarray]) -> None:
        """Test every unordered pair of ``per_window`` not yet tested, pairs with the same
        number of sources in one batch (:func:`signed_rank_tests`)."""
        names = list(per_window)
        pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]
                 if (a, b) not in self._stats and (b, a) not in self._stats]
        self._test(pairs, [self._diff(per_window[a], per_window[b]) for a, b in pairs])

    def _diff(self, values_a: np.ndarray, values_b: np.ndarray) -> np.ndarray:
        return self._source_means(np.asarray(values_a, np.float64)
                                  - np.asarray(values_b, np.float64))

    def _test(self, pairs: list[tuple[str, str]], diffs: list[np.ndarray]) -> None:
        by_size: dict[int, list[int]] = {}
        for i, d in enumerate(diffs):
            by_size.setdefault(d.size, []).append(i)
        for size, rows in by_size.items():
            d = np.stack([diffs[i] for i in rows]) if size else np.zeros((len(rows), 0))
            statistic, p = signed_rank_tests(d)
            p_equivalence = equivalence_ps(d, self.margin)
            for j, i in enumerate(rows):
                self._stats[pairs[i]] = PairStats(
                    size, float(d[j].mean()) if size else float("nan"), float(statistic[j]),
                    float(p[j]), float(p_equivalence[j]), bool(size >= 1 and not d[j].any()))

    def _source_means(self, diff: np.ndarray) -> np.ndarray:
        """Mean of the finite differences of each source that has one (source order)."""
        ok = np.isfinite(diff)
        sums = np.bincount(self.codes[ok], weights=diff[ok], minlength=self.codes.max() + 1)
        counts = np.bincount(self.codes[ok], minlength=self.codes.max() + 1)
        return sums[counts > 0] / counts[counts > 0]


def paired_tests(
    per_window: Mapping[str, np.ndarray],
    source_ids: np.ndarray,
    reference: str = "lrp",
    *,
    controls: Collection[str] = (),
    direction: str = "up",
    margin: float | None = None,
    alpha: float = ALPHA,
    cache: PairCache | None = None,
) -> pd.DataFrame:
    """Every method against ``reference``: difference and equivalence tests, Holm per family.

    Parameters
    ----------
    per_window : mapping method -> array (N,)
        One metric's per-window scores of every method, on the same windows (NaN excluded).
    source_ids : array (N,)
        Source of each window (the pairing unit).
    reference : str
        The method every other one is compared with.
    controls : collection of str
        Methods that are controls: their comparisons form their own Holm family.
    direction : {"up", "down"}
        The metric's direction (which sign is better).
    margin : float, optional
        Equivalence margin in the metric's unit; None or NaN: equivalence not tested.
    alpha : float
        Level of every test.
    cache : PairCache, optional
        Statistics already computed for this metric (same ``source_ids`` and ``margin``).

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS` (``role``: ``methods`` or ``controls``, the Holm family).
    """
    if reference not in per_window:
        raise ValueError(f"reference: {reference!r} not among the methods {sorted(per_window)}")
    if direction not in ("up", "down"):
        raise ValueError(f"direction: must be 'up' or 'down', got {direction!r}")
    ref = np.asarray(per_window[reference], dtype=np.float64)
    cache = cache or PairCache(source_ids, margin)
    rows = []
    for method, values in per_window.items():
        if method == reference:
            continue
        if np.shape(values) != ref.shape:
            raise ValueError(f"per_window[{method!r}]: shape {np.shape(values)} differs from "
                             f"{ref.shape}")
        st = cache.get(method, values, reference, ref)
        rows.append({"method": method, "reference": reference,
                     "role": CONTROLS_FAMILY if method in controls else METHODS_FAMILY,
                     "n_sources": st.n_sources, "mean_diff": st.mean_diff,
                     "statistic": st.statistic, "p_value": st.p_value, "margin": cache.margin,
                     "p_equivalence": st.p_equivalence, "identical": st.identical})
    return _corrected(pd.DataFrame(rows, columns=[*COLUMNS, "identical"]), direction, alpha)


def all_paired_tests(per_window: Mapping[str, np.ndarray], source_ids: np.ndarray, *,
                     controls: Collection[str] = (), direction: str = "up",
                     margin: float | None = None, alpha: float = ALPHA) -> pd.DataFrame:
    """:func:`paired_tests` with every method in turn as the reference (each unordered pair
    tested once)."""
    cache = PairCache(source_ids, margin)
    cache.prime(per_window)
    frames = [paired_tests(per_window, source_ids, ref, controls=controls, direction=direction,
                           margin=margin, alpha=alpha, cache=cache) for ref in per_window]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)


def _corrected(table: pd.DataFrame, direction: str, alpha: float) -> pd.DataFrame:
    """Holm per family, the attainable p and the outcome of every row."""
    role = table["role"].to_numpy()
    n_sources = table["n_sources"].to_numpy()
    p_value = table["p_value"].to_numpy(np.float64)
    p_equivalence = table["p_equivalence"].to_numpy(np.float64)
    family_size = np.zeros(len(table), dtype=np.int64)
    p_holm, p_equivalence_holm, p_attainable = (np.full(len(table), np.nan) for _ in range(3))
    for family in (METHODS_FAMILY, CONTROLS_FAMILY):
        part = role == family
        k = int(part.sum())
        family_size[part] = k
        p_holm[part] = holm(p_value[part])
        p_equivalence_holm[part] = holm(p_equivalence[part])
        p_attainable[part] = [min(1.0, k * min_attainable_p(int(n))) for n in n_sources[part]]
    table["family_size"] = pd.array(family_size, dtype="Int64")
    table["p_holm"], table["p_equivalence_holm"] = p_holm, p_equivalence_holm
    table["p_attainable"] = p_attainable
    table["outcome"] = [
        outcome(d, ph, pe, pa, direction, bool(same), alpha)
        for d, ph, pe, pa, same in zip(table["mean_diff"].to_numpy(), p_holm, p_equivalence_holm,
                                       p_attainable, table["identical"].to_numpy(), strict=True)]
    return table[COLUMNS].reset_index(drop=True)


__all__ = ["ALPHA", "COLUMNS", "CONTROLS_FAMILY", "METHODS_FAMILY", "OUTCOMES", "PairCache",
           "PairStats", "all_paired_tests", "equivalence_p", "equivalence_ps", "holm",
           "min_attainable_p", "outcome", "paired_tests", "signed_rank_test", "signed_rank_tests"]

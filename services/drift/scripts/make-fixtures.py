#!/usr/bin/python3
"""Regenerates test/services/drift/fixtures/scipy.json: the values SciPy/NumPy compute for every drift method.

Run with the Debian SciPy: /usr/bin/python3 services/drift/scripts/make-fixtures.py

Data are not stored: both this script and the tests regenerate them from a seed with mulberry32 and plain
IEEE arithmetic (+ - * / floor only, no transcendental functions), which is bit-identical in Python and
JavaScript. The TypeScript twin of `generate` is test/services/drift/helpers/data.ts.
"""
import json
import math
import os
import sys

# Pin OpenBLAS before NumPy loads it. Debian's OpenBLAS picks its kernels by CPU (or by OPENBLAS_CORETYPE,
# which some machines set: Haswell, SkylakeX, Zen...) and splits matrix work by thread count, and either
# choice moves the last one or two digits of matrix products and eigenvalues: kstwo.sf for n <= 140
# (Durbin's matrix, np.linalg.matrix_power), hence the KS p-values of currents of at most 140 rows, and
# the PCA cases (np.cov, eigh, the reconstruction). Unpinned, a regeneration elsewhere rewrites about 14
# values in their last digits (relative 1e-16 to 7e-13; the tests allow 1e-6). The committed fixtures
# are OpenBLAS 0.3.21's generic SSE3 kernels ("Prescott", which every x86-64 CPU runs) on 2 threads.
os.environ["OPENBLAS_CORETYPE"] = "Prescott"
os.environ["OPENBLAS_NUM_THREADS"] = "2"

import numpy as np  # noqa: E402  (after the OpenBLAS pins)
import scipy
from scipy import stats
from scipy.spatial.distance import jensenshannon
from scipy.special import smirnov
from scipy.stats._stats_py import _compute_prob_outside_square
from scipy.stats._stats_pythran import _compute_outer_prob_inside_method

M32 = 0xFFFFFFFF


def imul(a, b):
    return (a * b) & M32


def mulberry32(seed):
    state = seed & M32
    while True:
        state = (state + 0x6D2B79F5) & M32
        t = state
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & M32
        yield ((t ^ (t >> 14)) & M32) / 4294967296.0


def generate(spec):
    """spec: {seed, n, dist, a, b, k}; value = a + b * shape(u...)."""
    rng = mulberry32(spec["seed"])
    a, b = spec.get("a", 0.0), spec.get("b", 1.0)
    dist = spec["dist"]
    out = []
    for _ in range(spec["n"]):
        if dist == "uniform":
            s = next(rng)
        elif dist == "bell":
            s = (next(rng) + next(rng) + next(rng) + next(rng)) / 4 - 0.5
        elif dist == "skew":
            u = next(rng)
            s = u * u * u
        elif dist == "discrete":
            s = math.floor(next(rng) * spec["k"])
        elif dist == "rounded":
            s = math.floor(((next(rng) + next(rng) + next(rng)) / 3) * 100 + 0.5) / 100
        else:
            raise ValueError(dist)
        out.append(a + b * s)
    return np.array(out, dtype=np.float64)


def spec(seed, n, dist, a=0.0, b=1.0, k=None):
    d = {"seed": seed, "n": n, "dist": dist, "a": a, "b": b}
    if k is not None:
        d["k"] = k
    return d


# Pairs (reference, current) covering SciPy's exact and asymptotic regimes, ties, and shifts.
PAIRS = [
    ("equal sizes exact, no drift", spec(1, 500, "bell"), spec(2, 500, "bell")),
    ("equal sizes exact, shift", spec(3, 2000, "bell"), spec(4, 2000, "bell", a=0.05)),
    ("unequal exact", spec(5, 300, "uniform"), spec(6, 700, "uniform", a=0.02, b=1.1)),
    ("unequal exact, skewed", spec(7, 2500, "skew", b=1000), spec(8, 1000, "skew", b=1200)),
    ("exact at the 10,000 limit", spec(9, 10000, "bell"), spec(10, 8000, "bell", a=0.01)),
    ("discrete ties", spec(11, 400, "discrete", k=7), spec(12, 600, "discrete", k=8)),
    ("rounded ties", spec(13, 3000, "rounded"), spec(14, 1200, "rounded", a=0.01)),
    ("asymptotic, no drift", spec(15, 20000, "bell"), spec(16, 1000, "bell")),
    ("asymptotic, drift", spec(17, 20000, "bell"), spec(18, 1000, "bell", a=0.03)),
    ("asymptotic, strong drift", spec(19, 20000, "bell"), spec(20, 1000, "bell", a=0.2, b=1.5)),
    ("asymptotic, small current (n <= 140)", spec(21, 15000, "uniform"), spec(22, 100, "uniform", a=0.05)),
    ("asymptotic, tiny current", spec(23, 12000, "uniform"), spec(24, 20, "uniform", a=0.3)),
    ("asymptotic, equal large", spec(25, 12000, "skew"), spec(26, 12000, "skew", b=1.02)),
    ("asymptotic, large", spec(27, 60000, "bell"), spec(28, 40000, "bell", a=0.004)),
    ("identical samples", spec(29, 1500, "bell"), spec(29, 1500, "bell")),
    ("disjoint samples", spec(30, 2000, "uniform"), spec(31, 1000, "uniform", a=5)),
]

BINS = [10, 20]


def quantile_edges(ref, bins):
    q = np.array([k / bins for k in range(1, bins)])
    return np.unique(np.quantile(ref, q))


def binned(ref, cur, bins):
    edges = quantile_edges(ref, bins)
    rc = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1).astype(float)
    cc = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1).astype(float)
    return edges, rc, cc


def psi(p, q):
    p = np.where(p == 0, 0.0001, p)
    q = np.where(q == 0, 0.0001, q)
    return float(np.sum((p - q) * np.log(p / q)))


def hellinger(p, q):
    return float(np.sqrt(np.sum((np.sqrt(p) - np.sqrt(q)) ** 2)) / np.sqrt(2))


def numeric_case(name, rs, cs):
    ref, cur = generate(rs), generate(cs)
    ks = stats.ks_2samp(ref, cur, method="auto")
    wd = stats.wasserstein_distance(ref, cur)
    case = {
        "name": name,
        "reference": rs,
        "current": cs,
        "ks": {"statistic": float(ks.statistic), "pValue": float(ks.pvalue)},
        "wasserstein": {"distance": float(wd), "normalized": float(wd / np.std(ref))},
        "binned": [],
    }
    for bins in BINS:
        edges, rc, cc = binned(ref, cur, bins)
        p, q = rc / rc.sum(), cc / cc.sum()
        case["binned"].append({
            "bins": bins,
            "edges": edges.tolist(),
            "referenceCounts": rc.tolist(),
            "currentCounts": cc.tolist(),
            "psi": psi(p, q),
            "jensenShannon": float(jensenshannon(p, q)),
            "hellinger": hellinger(p, q),
        })
    return case


CATEGORICAL = [
    ("same categories", {"a": 500, "b": 300, "c": 200}, {"a": 260, "b": 140, "c": 100}),
    ("shifted shares", {"a": 5000, "b": 3000, "c": 2000}, {"a": 300, "b": 400, "c": 300}),
    ("unseen category in current", {"a": 900, "b": 100}, {"a": 80, "b": 10, "z": 10}),
    ("category missing from current", {"a": 400, "b": 400, "c": 200}, {"a": 600, "b": 400}),
    ("binary", {"0": 9800, "1": 200}, {"0": 950, "1": 50}),
    ("many categories", {str(i): 100 + 7 * i for i in range(60)}, {str(i): 20 + (i * 13) % 17 for i in range(65)}),
]


def categorical_case(name, ref, cur):
    keys = sorted(set(ref) | set(cur))
    rc = np.array([ref.get(k, 0) for k in keys], dtype=float)
    cc = np.array([cur.get(k, 0) for k in keys], dtype=float)
    chi2, p, dof, _ = stats.chi2_contingency(np.vstack([rc, cc]), correction=False)
    ps, qs = rc / rc.sum(), cc / cc.sum()
    return {
        "name": name,
        "reference": ref,
        "current": cur,
        "chiSquare": {"statistic": float(chi2), "pValue": float(p), "dof": int(dof)},
        "jensenShannon": float(jensenshannon(ps, qs)),
        "psi": psi(ps, qs),
        "hellinger": hellinger(ps, qs),
    }


def kolmogorov_grid():
    ns = [1, 2, 3, 5, 10, 37, 100, 140, 141, 500, 1000, 4999, 25000, 99999, 100000, 100001, 250000, 1000000, 1500000]
    xs = [0.0005, 0.001, 0.003, 0.007, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.45, 0.5, 0.6, 0.8, 0.95]
    out = []
    for n in ns:
        for x in xs:
            out.append({"n": n, "x": x, "sf": float(stats.kstwo.sf(x, n))})
    return out


def smirnov_grid():
    out = []
    for n in [2, 5, 20, 141, 1000, 20000, 300000, 1000000, 1000001]:
        for x in [0.001, 0.01, 0.02, 0.05, 0.1, 0.3, 0.5, 0.7, 0.99]:
            out.append({"n": n, "x": x, "sf": float(smirnov(n, x))})
    return out


def exact_grid():
    square = []
    for n in [1, 5, 50, 500, 3000]:
        for frac in [0.02, 0.05, 0.1, 0.3, 0.9]:
            h = max(1, int(round(frac * n)))
            square.append({"n": n, "h": h, "p": float(_compute_prob_outside_square(n, h))})
    inside = []
    for m, n in [(7, 3), (100, 73), (300, 1000), (2500, 1000), (10000, 8000)]:
        g = math.gcd(m, n)
        lcm = m // g * n
        for frac in [0.01, 0.03, 0.08, 0.2, 0.5]:
            h = max(1, int(round(frac * lcm)))
            inside.append({"m": m, "n": n, "g": g, "h": h, "p": float(_compute_outer_prob_inside_method(m, n, g, h))})
    return {"square": square, "inside": inside}


def chi2_grid():
    out = []
    for dof in [1, 2, 3, 4, 7, 10, 30, 99, 200, 1000]:
        for stat in [0.001, 0.5, 1, 2.5, 5, 10, 25, 60, 150, 400, 1200, 3000]:
            out.append({"dof": dof, "statistic": stat, "sf": float(stats.chi2.sf(stat, dof))})
    return out


def corrections():
    lists = [
        [0.01, 0.04, 0.03, 0.2, 0.5],
        [0.001, 0.0001, 0.05, 0.049, 0.9, 0.3, 0.02, 0.01],
        [0.5],
    ]
    out = []
    for ps in lists:
        p = np.array(ps)
        m = len(p)
        order = np.argsort(p)
        ranked = p[order] * m / np.arange(1, m + 1)
        bh_sorted = np.minimum(1, np.minimum.accumulate(ranked[::-1])[::-1])
        bh = np.empty(m)
        bh[order] = bh_sorted
        out.append({"pValues": ps, "bonferroni": np.minimum(1, p * m).tolist(), "fdr": bh.tolist()})
    return out


# Correlated features built from shared latent factors: x_f = sum_j L[f][j] * z_j + noise_f.
LOADINGS = [[1.0, 0.0, 0.2], [0.8, 0.3, 0.0], [0.0, 1.0, 0.1], [0.5, 0.5, 0.5], [0.1, 0.0, 1.0], [0.3, -0.7, 0.2]]


# The "correlation break" current: feature 5 follows the first factor the other way round.
BROKEN_LOADINGS = [[1.0, 0.0, 0.2], [0.8, 0.3, 0.0], [0.0, 1.0, 0.1], [0.5, 0.5, 0.5], [0.1, 0.0, 1.0], [-0.6, 0.7, 0.2]]


def correlated(seed, rows, shift, loadings):
    latent = [generate(spec(seed + j, rows, "bell", b=3.0)) for j in range(3)]
    cols = []
    for f, weights in enumerate(loadings):
        noise = generate(spec(seed + 10 + f, rows, "bell", b=1.0))
        col = noise.copy()
        for j, w in enumerate(weights):
            col = col + w * latent[j]
        cols.append(col + shift[f])
    return np.vstack(cols).T


def pca_case(name, seed_ref, seed_cur, rows_ref, rows_cur, shift, current_loadings=LOADINGS):
    ref = correlated(seed_ref, rows_ref, [0.0] * len(LOADINGS), LOADINGS)
    cur = correlated(seed_cur, rows_cur, shift, current_loadings)
    mean = ref.mean(axis=0)
    std = ref.std(axis=0)
    z = (ref - mean) / std
    center = z.mean(axis=0)
    cov = np.cov(z - center, rowvar=False)
    values, vectors = np.linalg.eigh(cov)
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order]
    ratio = values / values.sum()
    k = int(np.searchsorted(np.cumsum(ratio), 0.65, side="right") + 1)
    comp = vectors[:, :k].T

    def errors(x):
        d = (x - mean) / std - center
        recon = (d @ comp.T) @ comp
        return np.sqrt(((d - recon) ** 2).sum(axis=1))

    ref_err = errors(ref)
    cur_err = errors(cur)
    return {
        "name": name,
        "seedReference": seed_ref,
        "seedCurrent": seed_cur,
        "rowsReference": rows_ref,
        "rowsCurrent": rows_cur,
        "shift": shift,
        "loadings": LOADINGS,
        "currentLoadings": current_loadings,
        "components": k,
        "explainedVarianceRatio": ratio[:k].tolist(),
        "referenceErrorMean": float(ref_err.mean()),
        "referenceErrorStd": float(ref_err.std()),
        "currentError": float(cur_err.mean()),
    }


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "..", "..", "test", "services", "drift", "fixtures", "scipy.json")
    fixtures = {
        "generatedBy": "services/drift/scripts/make-fixtures.py",
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "numeric": [numeric_case(*p) for p in PAIRS],
        "categorical": [categorical_case(*c) for c in CATEGORICAL],
        "kolmogorov": kolmogorov_grid(),
        "smirnov": smirnov_grid(),
        "exactKs": exact_grid(),
        "chiSquareSf": chi2_grid(),
        "corrections": corrections(),
        "pca": [
            pca_case("no drift", 100, 200, 4000, 1500, [0.0] * 6),
            pca_case("correlation break", 300, 400, 4000, 1500, [0.0] * 6, BROKEN_LOADINGS),
            pca_case("mean shift", 500, 600, 3000, 2000, [0.5, 0.0, -0.3, 0.0, 0.2, 0.0]),
        ],
        "sample": {"spec": spec(42, 20, "bell"), "values": generate(spec(42, 20, "bell")).tolist()},
    }
    with open(out_path, "w") as fh:
        json.dump(fixtures, fh, indent=1)
        fh.write("\n")
    print(f"wrote {os.path.normpath(out_path)}")


if __name__ == "__main__":
    main()

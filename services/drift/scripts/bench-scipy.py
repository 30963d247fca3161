#!/usr/bin/python3
"""SciPy/NumPy on the benchmark's data (called by scripts/bench.ts): the same methods, timed.

Arguments: <dir with reference.f64 and current.f64 (column-major float64)> <rows> <comma-separated names>
Prints JSON: total and per-method seconds, and every feature's values for the cross-check.
"""
import json
import sys
import time

import numpy as np
import scipy
from scipy import stats
from scipy.spatial.distance import jensenshannon


def main():
    folder, rows, names = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
    ref = np.fromfile(f"{folder}/reference.f64", dtype=np.float64).reshape(len(names), rows)
    cur = np.fromfile(f"{folder}/current.f64", dtype=np.float64).reshape(len(names), rows)
    out = {"scipy": scipy.__version__, "features": {}}
    t_ks = t_w = t_bin = 0.0
    for i, name in enumerate(names):
        r, c = ref[i], cur[i]
        t0 = time.perf_counter()
        ks = stats.ks_2samp(r, c)
        t1 = time.perf_counter()
        w = stats.wasserstein_distance(r, c) / np.std(r)
        t2 = time.perf_counter()
        edges = np.unique(np.quantile(r, [k / 10 for k in range(1, 10)]))
        p = np.bincount(np.searchsorted(edges, r, side="right"), minlength=len(edges) + 1) / len(r)
        q = np.bincount(np.searchsorted(edges, c, side="right"), minlength=len(edges) + 1) / len(c)
        pz, qz = np.where(p == 0, 0.0001, p), np.where(q == 0, 0.0001, q)
        psi = float(np.sum((pz - qz) * np.log(pz / qz)))
        js = float(jensenshannon(p, q))
        hel = float(np.sqrt(np.sum((np.sqrt(p) - np.sqrt(q)) ** 2)) / np.sqrt(2))
        t3 = time.perf_counter()
        t_ks, t_w, t_bin = t_ks + t1 - t0, t_w + t2 - t1, t_bin + t3 - t2
        out["features"][name] = {"ks": float(ks.statistic), "p": float(ks.pvalue), "w": float(w), "psi": psi, "js": js, "hellinger": hel}
    out.update(seconds=t_ks + t_w + t_bin, ksSeconds=t_ks, wassersteinSeconds=t_w, binnedSeconds=t_bin)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

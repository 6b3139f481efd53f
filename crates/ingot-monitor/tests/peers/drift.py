"""Peer of crates/ingot-monitor/tests/scipy_peer.rs: reads a JSON list of cases, prints the
SciPy/NumPy answer for each as JSON."""
import json
import sys

import numpy as np
from scipy import stats
from scipy.spatial import distance


def fill_zeroes(x):
    x = np.array(x, dtype=float)
    nz = x[x != 0]
    fill = nz.min() / 10**6 if nz.min() <= 0.0001 else 0.0001
    np.place(x, x == 0, fill)
    return x


def answer(case):
    kind = case["kind"]
    if kind == "ks":
        r = stats.ks_2samp(case["a"], case["b"], method=case["method"])
        return {"statistic": float(r.statistic), "p_value": float(r.pvalue)}
    if kind == "chi2":
        r = stats.chi2_contingency(np.array([case["a"], case["b"]]))
        return {"statistic": float(r.statistic), "p_value": float(r.pvalue)}
    if kind == "wasserstein":
        return {"value": float(stats.wasserstein_distance(
            case["a"], case["b"], case.get("wa"), case.get("wb")))}
    if kind == "js":
        return {"value": float(distance.jensenshannon(case["a"], case["b"]))}
    if kind == "psi":
        r = fill_zeroes(case["a"])
        c = fill_zeroes(case["b"])
        return {"value": float(np.sum((r - c) * np.log(r / c)))}
    if kind == "z":
        x1, n1, x2, n2 = case["x1"], case["n1"], case["x2"], case["n2"]
        p1, p2 = x1 / n1, x2 / n2
        p = (p1 * n1 + p2 * n2) / (n1 + n2)
        z = (p1 - p2) / np.sqrt(p * (1 - p) * (1.0 / n1 + 1.0 / n2))
        return {"value": float(2 * (1 - stats.norm.cdf(np.abs(z))))}
    if kind == "kstwo":
        return {"value": float(stats.kstwo.sf(case["x"], case["n"]))}
    raise ValueError(kind)


with open(sys.argv[1]) as f:
    cases = json.load(f)
print(json.dumps([answer(c) for c in cases]))

"""Peer of crates/ingot-explain/tests/shap_peer.rs: shap.KernelExplainer on the same models,
backgrounds and rows. Reads a JSON list of cases, prints a JSON list of SHAP value matrices."""
import json
import sys
import warnings

import numpy as np
import shap

warnings.filterwarnings("ignore")


def nonlinear(x):
    return (
        x[:, 0] * x[:, 1]
        + np.sin(x[:, 2]) * x[:, 3]
        + np.maximum(x[:, 4], 0.0) * x[:, 0]
        - 0.5 * x[:, 5] ** 2
        + x[:, 1] * x[:, 4] * x[:, 5]
    )


MODELS = {
    "nonlinear": nonlinear,
    "nonlinear7": lambda x: nonlinear(x) + np.tanh(x[:, 6] * x[:, 0]),
    "linear": lambda x: x @ np.array([1.5, -2.0, 0.25, 3.0, -0.75]) + 0.3,
}


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    results = []
    for case in cases:
        m = case["features"]
        if case.get("plan"):
            # The coalitions and kernel weights shap builds for m varying features.
            explainer = shap.KernelExplainer(lambda a: a.sum(1), np.zeros((1, m)))
            explainer.shap_values(np.ones((1, m)), nsamples=case["nsamples"], l1_reg=False, silent=True)
            n = explainer.nsamplesAdded
            results.append(
                {
                    "masks": explainer.maskMatrix[:n].reshape(-1).tolist(),
                    "weights": explainer.kernelWeights[:n].tolist(),
                }
            )
            continue
        background = np.array(case["background"], dtype=float).reshape(-1, m)
        x = np.array(case["x"], dtype=float).reshape(-1, m)
        explainer = shap.KernelExplainer(MODELS[case["model"]], background)
        values = explainer.shap_values(x, nsamples=case["nsamples"], l1_reg=False, silent=True)
        results.append(
            {
                "values": np.asarray(values).reshape(-1).tolist(),
                "expected_value": float(np.asarray(explainer.expected_value).reshape(-1)[0]),
            }
        )
    json.dump(results, sys.stdout)


main()

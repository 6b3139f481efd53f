"""Talks to an Ingot endpoint with tritonclient, the usual Open Inference Protocol client.

Usage: oip_client.py HOST:PORT ENDPOINT TOKEN ROWS_JSON VERSION
ROWS_JSON is a list of {"x": float, "colour": str}. Prints one JSON object with what the
client read: health, metadata, probabilities through JSON and binary tensors, unversioned and
at VERSION, and the messages of two refused requests.
"""

import json
import sys

import numpy as np
import tritonclient.http as http
from tritonclient.utils import InferenceServerException

url, endpoint, token, rows, version = sys.argv[1:6]
rows = json.loads(rows)
auth = {"Authorization": f"Bearer {token}"}
client = http.InferenceServerClient(url=url)


def inputs(binary):
    x = http.InferInput("x", [len(rows)], "FP64")
    x.set_data_from_numpy(np.array([r["x"] for r in rows], dtype=np.float64), binary_data=binary)
    colour = http.InferInput("colour", [len(rows)], "BYTES")
    colour.set_data_from_numpy(
        np.array([r["colour"].encode() for r in rows], dtype=object), binary_data=binary
    )
    return [x, colour]


def probabilities(binary, model_version=""):
    # tritonclient's defaults: binary inputs, and every output in binary when none is named.
    outputs = None if binary else [http.InferRequestedOutput("probabilities", binary_data=False)]
    result = client.infer(
        endpoint, inputs(binary), model_version=model_version, outputs=outputs, headers=auth
    )
    return result.as_numpy("probabilities")[:, 1].tolist()


def refusal(call):
    try:
        call()
    except InferenceServerException as e:
        return {"status": e.status(), "message": e.message()}
    return None


def unknown_input():
    bad = http.InferInput("z", [1], "FP64")
    bad.set_data_from_numpy(np.array([1.0]))
    client.infer(endpoint, [bad], headers=auth)


metadata = client.get_model_metadata(endpoint, headers=auth)
print(
    json.dumps(
        {
            "live": client.is_server_live(),
            "model_ready": client.is_model_ready(endpoint, headers=auth),
            "version_ready": client.is_model_ready(endpoint, version, headers=auth),
            "metadata": metadata,
            "server_extensions": client.get_server_metadata()["extensions"],
            "json": probabilities(False),
            "binary": probabilities(True),
            "at_version": probabilities(True, version),
            "unknown_input": refusal(unknown_input),
            "unknown_version": refusal(lambda: client.infer(endpoint, inputs(True), model_version="9", headers=auth)),
            "no_token": refusal(lambda: client.get_model_metadata(endpoint)),
        }
    )
)

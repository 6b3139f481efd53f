"""Load driver for bench/tracking.sh: the same MLflow REST load against Ingot and `mlflow
server`, with asyncio + aiohttp clients.

Measures create-run and log-batch (10 and 500 metrics) throughput at C concurrent clients, and
search-runs latency with N runs in an experiment (each with 20 params and 20 metrics).
Usage: tracking.py NAME URL TOKEN PID [--sizes 1000,10000] [--concurrency 20] [--seconds 10]
Prints one JSON object per measurement.
"""

import argparse
import asyncio
import json
import os
import random
import statistics
import time
import uuid

import aiohttp


def rss_peak_kb(pid):
    """Peak RSS of a process tree (sum of VmHWM over the process and its descendants)."""
    total = 0
    pids = [pid]
    seen = set()
    while pids:
        p = pids.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    pids += [int(c) for c in f.read().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


class Api:
    def __init__(self, session, url, token):
        self.session = session
        self.url = url.rstrip("/") + "/api/2.0/mlflow/"
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def post(self, path, body):
        async with self.session.post(self.url + path, json=body, headers=self.headers) as r:
            data = await r.json(content_type=None)
            if r.status != 200:
                raise RuntimeError(f"{path}: {r.status} {data}")
            return data

    async def post_raw(self, path, body):
        """The response body, unparsed: latency is the server's, not the client's JSON decoder
        (a page of 100 runs is about 250 kB). The first answer of each search is parsed and
        checked by `search_latencies`."""
        async with self.session.post(self.url + path, json=body, headers=self.headers) as r:
            raw = await r.read()
            if r.status != 200:
                raise RuntimeError(f"{path}: {r.status} {raw[:500]!r}")
            return raw

    async def experiment(self, name):
        return (await self.post("experiments/create", {"name": name}))["experiment_id"]

    async def run(self, exp):
        body = {"experiment_id": exp, "start_time": int(time.time() * 1000)}
        return (await self.post("runs/create", body))["run"]["info"]["run_id"]


def batch(n_metrics, n_params=0, step=0, rng=random):
    now = int(time.time() * 1000)
    return {
        "metrics": [
            {"key": f"m{i}", "value": rng.random(), "timestamp": now, "step": step}
            for i in range(n_metrics)
        ],
        "params": [{"key": f"p{i}", "value": f"v{rng.randrange(10)}"} for i in range(n_params)],
    }


async def throughput(api, concurrency, seconds, make_request):
    """Requests per second completed by `concurrency` clients looping for `seconds`."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def client(i):
        nonlocal done
        k = 0
        while time.perf_counter() < deadline:
            await make_request(i, k)
            k += 1
            done += 1

    start = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(concurrency)))
    return done / (time.perf_counter() - start)


async def populate(api, exp, n, concurrency):
    queue = list(range(n))

    async def worker():
        rng = random.Random()
        while queue:
            queue.pop()
            rid = await api.run(exp)
            await api.post("runs/log-batch", {"run_id": rid, **batch(20, 20, rng=rng)})

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def latency(api, body, repeats):
    page = await api.post("runs/search", body)
    if not page.get("runs"):
        raise RuntimeError(f"search {body} found no runs")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        await api.post_raw("runs/search", body)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


async def search_latencies(api, args, experiment_id, size):
    queries = {
        "default": {"experiment_ids": [experiment_id], "max_results": 100},
        "filter+order": {
            "experiment_ids": [experiment_id],
            "filter": "metrics.m0 > 0.5 AND params.p0 = 'v3'",
            "order_by": ["metrics.m1 DESC"],
            "max_results": 100,
        },
    }
    for label, body in queries.items():
        p50, p95 = await latency(api, body, args.repeats)
        emit(server=args.name, measure=f"search-{label}@{size}", unit="ms",
             value=round(p50, 2), p95=round(p95, 2))


def emit(**record):
    print(json.dumps(record), flush=True)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("name")
    parser.add_argument("url")
    parser.add_argument("token")
    parser.add_argument("pid", type=int)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument(
        "--search-experiment",
        help="only measure search latency on this already populated experiment id "
        "(see tracking_populate.py); --sizes then names its run count",
    )
    args = parser.parse_args()
    connector = aiohttp.TCPConnector(limit=args.concurrency + 4)
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        api = Api(session, args.url, args.token)
        if args.search_experiment:
            await search_latencies(api, args, args.search_experiment, int(args.sizes))
            emit(server=args.name, measure="peak-rss-after-bulk-search", unit="MiB",
                 value=round(rss_peak_kb(args.pid) / 1024, 1))
            return
        tag = uuid.uuid4().hex[:6]
        exp = await api.experiment(f"bench-{tag}")
        rate = await throughput(api, args.concurrency, args.seconds, lambda i, k: api.run(exp))
        emit(server=args.name, measure="create-run", unit="req/s", value=round(rate, 1))
        runs = [await api.run(exp) for _ in range(args.concurrency)]
        for n in (10, 500):
            async def log(i, k, n=n):
                await api.post("runs/log-batch", {"run_id": runs[i], **batch(n, step=k)})

            rate = await throughput(api, args.concurrency, args.seconds, log)
            emit(server=args.name, measure=f"log-batch-{n}", unit="req/s", value=round(rate, 1),
                 metrics_per_s=round(rate * n))
        populated = 0
        search_exp = await api.experiment(f"bench-search-{tag}")
        for size in [int(s) for s in args.sizes.split(",") if s]:
            start = time.perf_counter()
            await populate(api, search_exp, size - populated, args.concurrency)
            populated = size
            emit(server=args.name, measure=f"populate-to-{size}", unit="s",
                 value=round(time.perf_counter() - start, 1))
            await search_latencies(api, args, search_exp, size)
        emit(server=args.name, measure="peak-rss", unit="MiB",
             value=round(rss_peak_kb(args.pid) / 1024, 1))


if __name__ == "__main__":
    asyncio.run(main())

#!/usr/bin/env python3
"""`make bench`: Passport's authorizer beside the two a team would pick instead — Node.js
(jsonwebtoken + ioredis, infra/bench/peers/node) and Python (PyJWT + redis-py under AWS's
`awslambdaric`, infra/bench/peers/python) — each under AWS's Runtime Interface Emulator (from the SAM
CLI package), on the same Redis, with the same event (events/authorizer-v2-allow.json) and the
same HS256 token, issued by Passport's own `login` binary under the emulator. Beside them:
Passport's authorizer with ES256 (its token from `login` with ES256, its keys read from what
that login published), and the floor — a Rust handler doing one Redis round trip and nothing
else (infra/bench/src/bin/authorizer-floor.rs) — to which the others are compared.

Per runtime: the emulator's init (`INIT REPORT`: process start to the runtime's first request for
an event, what Lambda reports as `Init Duration`), the first invocation (the emulator's `INVOKE
RTDONE` duration, and the time to its answer here), then --warm invocations one after another:
the median and p99 of the emulator's duration and of the round trip measured here. Writes peers.json into --out.
"""
import argparse
import json
import os
import pathlib
import re
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
# The emulator fleet is the test harness's (infra/emulators/rie.py).
sys.path.insert(0, str(ROOT / "infra" / "emulators"))
from rie import RieFleet  # noqa: E402
EVENTS = ROOT / "events"


def event(name, values):
    text = (EVENTS / f"{name}.json").read_text()
    for k, v in values.items():
        text = text.replace("${" + k + "}", v)
    return text


def quantile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def emulator_figures(log):
    """From the emulator's log: its init (`INIT REPORT(durationMs: …)`: process start to the
    runtime's first `next`) and each invocation's `INVOKE RTDONE(… duration: …ms)` (the event
    handed over to the answer posted), in order."""
    init = re.search(r"INIT REPORT\(durationMs: ([0-9.]+)\)", log)
    invokes = [float(m) for m in re.findall(r"INVOKE RTDONE\(status: success[^)]*duration: ([0-9.]+)ms\)", log)]
    return (float(init.group(1)) if init else None), invokes


def measure(fleet, name, script, env, payload, warm):
    fleet.start(name, script=script, extra_env=env)
    t = time.perf_counter()
    first = fleet.invoke(name, payload)
    first_rt = (time.perf_counter() - t) * 1000
    if first.get("isAuthorized") is not True:
        raise SystemExit(f"{name}: the first invocation was not allowed: {first}\n{fleet.log(name)[-2000:]}")
    rts = []
    for _ in range(warm):
        t = time.perf_counter()
        answer = fleet.invoke(name, payload)
        rts.append((time.perf_counter() - t) * 1000)
        if answer.get("isAuthorized") is not True:
            raise SystemExit(f"{name}: denied a live session: {answer}")
    # The emulator logs each invocation as it ends; give the last line a moment.
    for _ in range(50):
        init_ms, invokes = emulator_figures(fleet.log(name))
        if len(invokes) >= warm + 1:
            break
        time.sleep(0.05)
    if init_ms is None or len(invokes) < warm + 1:
        raise SystemExit(f"{name}: the emulator's log lacks figures:\n{fleet.log(name)[-2000:]}")
    warm_durations = invokes[1:warm + 1]
    return {
        "init_ms": init_ms,
        "first_duration_ms": invokes[0],
        "first_round_trip_ms": first_rt,
        "warm_duration_ms": {"median": statistics.median(warm_durations),
                             "p99": quantile(warm_durations, 0.99)},
        "warm_round_trip_ms": {"median": statistics.median(rts), "p99": quantile(rts, 0.99)},
        "invocations": warm,
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rie", required=True)
    p.add_argument("--bin-dir", required=True, type=pathlib.Path)
    p.add_argument("--env-file", required=True, type=pathlib.Path)
    p.add_argument("--python", required=True, help="the Python with PyJWT, redis and awslambdaric")
    p.add_argument("--out", required=True, type=pathlib.Path)
    p.add_argument("--warm", type=int, default=1000)
    a = p.parse_args()
    # Absolute, not resolved: a virtual environment's python is a symlink to the base one.
    a.python = os.path.abspath(a.python)

    fleet = RieFleet(rie=a.rie, bin_dir=a.bin_dir, env_file=a.env_file)
    try:
        r = fleet.invoke("accounts", event("accounts-create", {}))
        if not (r.get("ok") or r.get("error") == "account_exists"):
            raise SystemExit(f"accounts create: {r}")
        login = fleet.invoke("login", event("login-success", {}))
        token = json.loads(login["body"])["access_token"]
        payload = event("authorizer-v2-allow", {"ACCESS_TOKEN": token})
        es256 = {"SIGNING_ALGORITHM": "ES256"}
        fleet.start("login-es256", script=f'exec "{a.bin_dir}/login"', extra_env=es256)
        login = fleet.invoke("login-es256", event("login-success", {}))
        es256_token = json.loads(login["body"])["access_token"]
        es256_payload = event("authorizer-v2-allow", {"ACCESS_TOKEN": es256_token})
        node_dir = ROOT / "infra" / "bench" / "peers" / "node"
        python_dir = ROOT / "infra" / "bench" / "peers" / "python"
        runs = {
            "floor": (f'exec "{a.bin_dir}/authorizer-floor"', {}),
            "passport": (None, {}),
            "passport_es256": (f'exec "{a.bin_dir}/authorizer"', es256),
            "node": (f'exec node "{node_dir}/runtime.mjs"', {"LAMBDA_TASK_ROOT": str(node_dir)}),
            "python": (f'cd "{python_dir}" && exec "{a.python}" -m awslambdaric handler.handler',
                       {"LAMBDA_TASK_ROOT": str(python_dir)}),
        }
        results = {}
        for name, (script, env) in runs.items():
            # Passport's authorizer is the binary itself; the others start through a script.
            fn = "authorizer" if name == "passport" else f"authorizer-{name}"
            body = es256_payload if name == "passport_es256" else payload
            results[name] = measure(fleet, fn, script, env, body, a.warm)
            w = results[name]["warm_duration_ms"]
            print(f"{name}: init {results[name]['init_ms']} ms, first {results[name]['first_duration_ms']} ms, "
                  f"warm median {w['median']} ms p99 {w['p99']} ms")
    finally:
        fleet.stop()
    (a.out / "peers.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

"""make bench: the Python baselines, timed per operation on the same machine and Redis.

- PyJWT verifying the very token the Rust harness verified: jwt.decode(token, key,
  algorithms=["HS256"]).
- The refresh flow Passport replaces, with redis-py: GET refresh_token:<token> -> account id,
  SETEX refresh_token:<new>, SETEX account_refresh_token:<id>, DELETE refresh_token:<old>
  (four round trips, no atomicity).

Writes python.json into the output directory.
"""

import argparse
import json
import secrets
import statistics
import time
from pathlib import Path

import jwt
import redis


def summary(samples_ns):
    samples = sorted(samples_ns)
    n = len(samples)

    def at(p):
        return samples[min(n - 1, round((n - 1) * p))] / 1000.0

    return {
        "median_us": at(0.5),
        "p99_us": at(0.99),
        "mean_us": statistics.fmean(samples) / 1000.0,
        "samples": n,
    }


def time_op(op, warmup, iters):
    for _ in range(warmup):
        op()
    clock = time.perf_counter_ns
    out = []
    for _ in range(iters):
        t0 = clock()
        op()
        out.append(clock() - t0)
    return summary(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--redis-url", required=True)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--scale", type=int, default=1)
    args = ap.parse_args()

    token = Path(args.token_file).read_text().strip()
    key = args.key.encode()
    claims = jwt.decode(token, key, algorithms=["HS256"])
    assert claims["sid"], claims

    verify = time_op(lambda: jwt.decode(token, key, algorithms=["HS256"]), 2_000, 50_000 * args.scale)

    r = redis.Redis.from_url(args.redis_url)
    ttl = 30 * 86400
    account = "acct-" + secrets.token_hex(8)
    state = {"token": secrets.token_urlsafe(32)}
    r.setex(f"refresh_token:{state['token']}", ttl, account)

    def refresh():
        old = state["token"]
        account_id = r.get(f"refresh_token:{old}")
        assert account_id is not None
        new = secrets.token_urlsafe(32)
        r.setex(f"refresh_token:{new}", ttl, account_id)
        r.setex(f"account_refresh_token:{account_id.decode()}", ttl, new)
        r.delete(f"refresh_token:{old}")
        state["token"] = new

    refresh_stats = time_op(refresh, 1_000, 10_000 * args.scale)
    out = Path(args.out) / "python.json"
    out.write_text(json.dumps({"pyjwt_verify": verify, "python_refresh": refresh_stats}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

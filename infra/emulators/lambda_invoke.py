#!/usr/bin/env python3
"""Invokes every sample event in events/ on the real function binaries, in the order and with
the answers events/cases.json gives (the table functions/lambda/tests/events.rs runs in-process),
through one of two emulators:

- `cargo lambda watch` on 127.0.0.1:$LAMBDA_PORT (LAMBDA_TRANSPORT unset or `cargo-lambda`);
- AWS's own Runtime Interface Emulator (LAMBDA_TRANSPORT=rie): each function's binary runs as
  `bootstrap` under `aws-lambda-rie` ($RIE, from the SAM CLI package), with the variables of
  $LAMBDA_ENV_FILE, invoked over the emulator's HTTP API; BIN_DIR holds the binaries. With
  RIE_REPORT set, each function's init duration as the emulator reports it is written there
  (JSON), for `make bench`. With ES256_BACKEND_CHECK set, each function's log must say it
  started with ring for ES256 (`es256_backend=ring`, logged at info).

Run by infra/test/test.sh (both) and infra/bench/bench.sh (RIE). Placeholders in the events
are filled with what earlier invocations returned, as the table says, as a client would.
"""
import json
import re
import os
import pathlib
import subprocess
import sys
import tempfile

from rie import RieFleet

ROOT = pathlib.Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
TRANSPORT = os.environ.get("LAMBDA_TRANSPORT", "cargo-lambda")
results = {"passed": 0, "failed": 0}
used = set()
fleet = None


def invoke(function, event, values=None):
    used.add(event)
    text = (EVENTS / f"{event}.json").read_text()
    for key, value in (values or {}).items():
        text = text.replace("${" + key + "}", value)
    if fleet is not None:
        return fleet.invoke(function, text)
    port = os.environ["LAMBDA_PORT"]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        f.write(text)
        path = f.name
    try:
        out = subprocess.run(
            ["cargo", "lambda", "invoke", function, "--data-file", path,
             "--invoke-address", "127.0.0.1", "--invoke-port", port],
            capture_output=True, text=True, timeout=300,
        )
    finally:
        os.unlink(path)
    if out.returncode != 0:
        raise AssertionError(f"{function} {event}: invoke failed: {out.stderr.strip()}")
    return json.loads(out.stdout)


def at(value, path):
    """The value at a dotted path (`a.b.0.c`), or None."""
    for key in path.split("."):
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return None
    return value


def resolved(value, saved):
    """A table value, a `"$NAME"` replaced by what was saved under that name."""
    if isinstance(value, str) and value.startswith("$"):
        return saved.get(value[1:], "")
    return value


def answer_of(function, event, values):
    """(status or None, body, headers, cookies) of `function`'s answer, as the table reads it."""
    r = invoke(function, event, values)
    if "statusCode" not in r:
        return None, r, {}, []
    body = r.get("body") or ""
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    headers = {k.lower(): v for k, v in (r.get("headers") or {}).items()}
    return r["statusCode"], parsed, headers, r.get("cookies") or []


def wrong(expect, status, body, headers, cookies, saved):
    """What is wrong with an answer against `expect` (the keys of functions/lambda/tests/events.rs)."""
    out = []
    want = lambda ok, what: ok or out.append(what)
    if "status" in expect:
        want(status == expect["status"], f"status {expect['status']}")
    if "error" in expect:
        want(at(body, "error") == expect["error"], f"error {expect['error']}")
    if "ok" in expect:
        good = at(body, "ok") == expect["ok"] or (
            "or_error" in expect and at(body, "error") == expect["or_error"])
        want(good, f"ok {expect['ok']}")
    if "authorized" in expect:
        want(at(body, "isAuthorized") == expect["authorized"], f"authorized {expect['authorized']}")
    if "effect" in expect:
        want(at(body, "policyDocument.Statement.0.Effect") == expect["effect"],
             f"effect {expect['effect']}")
    for path, value in expect.get("body", {}).items():
        value = resolved(value, saved)
        want(at(body, path) == value, f"{path} = {value!r}")
    for path in expect.get("present", []):
        want(at(body, path) is not None, f"{path} present")
    for path in expect.get("absent", []):
        want(at(body, path) is None, f"{path} absent")
    for path, part in expect.get("contains", {}).items():
        want(part in str(at(body, path) or ""), f"{path} contains {part}")
    for path, value in expect.get("differs", {}).items():
        got = at(body, path)
        want(got is not None and got != resolved(value, saved), f"{path} differs")
    for path, n in expect.get("count", {}).items():
        got = at(body, path)
        want(isinstance(got, list) and len(got) == n, f"{path} has {n}")
    for name, start in expect.get("headers", {}).items():
        want(str(headers.get(name, "")).startswith(start), f"header {name}: {start}")
    parts = expect.get("cookie", [])
    if parts:
        cookie = cookies[0] if cookies else ""
        want(parts[0] in cookie and all(p in cookie for p in parts[1:]), f"cookie {parts}")
    if expect.get("no_cookie"):
        want(not cookies, "no cookie")
    return out


def value_of(path, body, cookies):
    if path == "cookie":
        return cookies[0].split(";")[0].split("=", 1)[1] if cookies else None
    value = at(body, path)
    return value if value is None or isinstance(value, str) else json.dumps(value)


def main():
    """Runs events/cases.json in order, as functions/lambda/tests/events.rs does in-process."""
    cases = json.loads((EVENTS / "cases.json").read_text())["cases"]
    saved = {}
    for i, case in enumerate(cases):
        event, function = case["event"], case["function"]
        values = dict(saved)
        values.update({k: resolved(v, saved) for k, v in case.get("vars", {}).items()})
        status, body, headers, cookies = answer_of(function, event, values)
        problems = wrong(case["expect"], status, body, headers, cookies, saved)
        name = f"{i:02} {event} on {function}"
        if problems:
            results["failed"] += 1
            print(f"FAIL {name}: wanted {problems}; got {status} {body}")
        else:
            results["passed"] += 1
            print(f"ok   {name}")
        for var, path in case.get("save", {}).items():
            value = value_of(path, body, cookies)
            if value is not None:
                saved[var] = value
    unused = {p.stem for p in EVENTS.glob("*.json")} - used - {"cases"}
    if unused:
        results["failed"] += 1
        print(f"FAIL every event file invoked: {sorted(unused)}")
    print(f"{results['passed']} passed, {results['failed']} failed")
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    if TRANSPORT == "rie":
        fleet = RieFleet(
            rie=os.environ["RIE"],
            bin_dir=pathlib.Path(os.environ["BIN_DIR"]),
            env_file=pathlib.Path(os.environ["LAMBDA_ENV_FILE"]),
        )
        try:
            code = main()
            # Each function's process installs ring for ES256 before anything touches
            # jsonwebtoken, and says so at start (passport_lambda::start), logged at info.
            checked = sorted(fleet.running) if os.environ.get("ES256_BACKEND_CHECK") else []
            for name in checked:
                got = re.findall(r"es256_backend\"?[=:]\"?(\w+)", fleet.log(name))
                if got != ["ring"]:
                    print(f"FAIL {name}: es256_backend at start {got or 'not logged'}, want ring")
                    code = 1
                else:
                    print(f"ok   {name}: es256_backend=ring at start")
        finally:
            fleet.stop()
        for name, init in sorted(fleet.init_durations().items()):
            print(f"{name}: emulator init {init['init_report_ms']} ms "
                  f"(REPORT Init Duration {init['report_init_ms']} ms)")
        if os.environ.get("RIE_REPORT"):
            pathlib.Path(os.environ["RIE_REPORT"]).write_text(
                json.dumps(fleet.init_durations(), indent=2))
        sys.exit(code)
    sys.exit(main())

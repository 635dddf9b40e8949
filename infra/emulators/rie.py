"""AWS's Lambda Runtime Interface Emulator (`aws-lambda-rie`, shipped inside the SAM CLI package)
running each function's real binary as `bootstrap`, one emulator per function, on loopback.

The emulator's own logs give each function's init: `INIT REPORT(durationMs: …)` and the
`REPORT … Init Duration: … ms` line of the first invocation.
"""
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

INVOCATIONS = "/2015-03-31/functions/function/invocations"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_env(path):
    env = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            env[key] = value
    return env


class RieFleet:
    def __init__(self, rie, bin_dir, env_file):
        self.rie = rie
        self.bin_dir = bin_dir
        self.env = read_env(env_file)
        self.root = pathlib.Path(tempfile.mkdtemp(prefix="passport-rie-"))
        self.running = {}  # function -> (process, port, log path)
        self.stopped = None  # the init durations, read before the logs were removed

    def start(self, function, script=None, extra_env=None):
        """Starts an emulator for `function`: its binary from `bin_dir` as `bootstrap`, or, with
        `script`, a shell script of that text (another runtime's start command), with
        `extra_env` added to the variables of the env file."""
        d = self.root / function
        d.mkdir()
        if script is None:
            shutil.copy(self.bin_dir / function, d / "bootstrap")
        else:
            (d / "bootstrap").write_text("#!/bin/sh\n" + script + "\n")
            (d / "bootstrap").chmod(0o755)
        log = d / "rie.log"
        for _ in range(10):
            port, api_port = free_port(), free_port()
            env = {"PATH": os.environ.get("PATH", ""), **self.env, **(extra_env or {}),
                   "AWS_LAMBDA_FUNCTION_NAME": function}
            proc = subprocess.Popen(
                [self.rie, "--runtime-interface-emulator-address", f"127.0.0.1:{port}",
                 "--runtime-api-address", f"127.0.0.1:{api_port}", "./bootstrap"],
                cwd=d, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
            for _ in range(100):
                if proc.poll() is not None:
                    break
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    self.running[function] = (proc, port, log)
                    return
                except OSError:
                    time.sleep(0.05)
            proc.kill()
            proc.wait()
        raise RuntimeError(f"aws-lambda-rie did not start for {function}: {log.read_text()}")

    def invoke(self, function, text):
        if function not in self.running:
            self.start(function)
        _, port, log = self.running[function]
        req = urllib.request.Request(f"http://127.0.0.1:{port}{INVOCATIONS}",
                                     data=text.encode(), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                body = resp.read()
        except Exception as e:  # the emulator's own error: show the function's log
            raise AssertionError(f"{function}: {e}\n{log.read_text()[-3000:]}") from e
        return json.loads(body)

    def log(self, function):
        """The emulator's log for `function` so far."""
        return self.running[function][2].read_text()

    def init_durations(self):
        if self.stopped is not None:
            return self.stopped
        out = {}
        for function, (_, _, log) in self.running.items():
            text = log.read_text()
            init = re.search(r"INIT REPORT\(durationMs: ([0-9.]+)\)", text)
            report = re.search(r"Init Duration: ([0-9.]+) ms", text)
            out[function] = {
                "init_report_ms": float(init.group(1)) if init else None,
                "report_init_ms": float(report.group(1)) if report else None,
            }
        return out

    def stop(self):
        self.stopped = self.init_durations()
        for proc, _, _ in self.running.values():
            proc.kill()
            proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)

#!/usr/bin/env bash
# Creates .venv (ignored by git) with the Python-packaged test tools of
# infra/test/requirements-test.txt: moto_server, cfn-lint (+ serverless rules), sam, cargo-lambda.
# Re-installs only when the requirements file changed. Prints the venv's bin directory.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv
req=infra/test/requirements-test.txt
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "$PWD/$venv/bin"
  exit 0
fi
if ! python3 -m venv --help >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  else
    echo "python3 with the venv module is needed (Debian/Ubuntu: apt-get install python3-venv)" >&2
    exit 1
  fi
fi
echo "==> installing test tools into $venv (first run takes a few minutes)" >&2
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip >&2
"$venv/bin/python" -m pip install --quiet --progress-bar off -r "$req" >&2
echo "$want" > "$stamp"
echo "$PWD/$venv/bin"

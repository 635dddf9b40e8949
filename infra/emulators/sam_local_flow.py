"""The session flow against `sam local start-api` (infra/emulators/sam-local.sh): login, /me through the
Lambda authorizer, a denied token (API Gateway's 403), refresh, logout, and the ended session
denied. Every step prints; the first failure exits 1.

SAM's emulation of the gateway's own refusals has the statuses of an HTTP API (401 without the
identity source, 403 when the authorizer denies) but not its bodies: SAM answers a deny with
`{"message": "User is not authorized to access this resource"}` (the REST API's text), where a
deployed HTTP API answers `{"message": "Forbidden"}` — SAM itself warns that its authorizers are
not exact. So the statuses are checked here and the bodies only printed; `local-api` holds the
deployed bodies (infra/local-api/src/gateway.rs)."""
import json
import sys
import urllib.error
import urllib.request

BASE = sys.argv[1]


def call(method, path, body=None, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(BASE + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            text = r.read().decode()
            return r.status, json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        try:
            return e.code, json.loads(text)
        except ValueError:
            return e.code, text


def expect(name, got, want):
    ok = got == want
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {got}")
    if not ok:
        print(f"     wanted {want}")
        sys.exit(1)


creds = {"email": "ada@example.com", "password": "correct horse battery staple", "device": "sam"}
status, pair = call("POST", "/login", creds)
expect("login", status, 200)
status, me = call("GET", "/me", token=pair["access_token"])
expect("/me through the authorizer", (status, me["email"]), (200, "ada@example.com"))
status, body = call("GET", "/me", token="not-a-token")
expect("a denied token", status, 403)
print(f"     SAM's body: {body}")
status, body = call("GET", "/me")
expect("no token", status, 401)
print(f"     SAM's body: {body}")
status, fresh = call("POST", "/refresh-token", {"refresh_token": pair["refresh_token"]})
expect("refresh", status, 200)
status, _ = call("POST", "/logout", token=fresh["access_token"])
expect("logout", status, 204)
status, body = call("GET", "/me", token=fresh["access_token"])
expect("the ended session denied", status, 403)
print("7 passed, 0 failed")

#!/usr/bin/env python3
"""Invokes every sample event in events/ on the real function binaries and checks each answer
(status code, body shape, authorizer decision), through one of two emulators:

- `cargo lambda watch` on 127.0.0.1:$LAMBDA_PORT (LAMBDA_TRANSPORT unset or `cargo-lambda`);
- AWS's own Runtime Interface Emulator (LAMBDA_TRANSPORT=rie): each function's binary runs as
  `bootstrap` under `aws-lambda-rie` ($RIE, from the SAM CLI package), with the variables of
  $LAMBDA_ENV_FILE, invoked over the emulator's HTTP API; BIN_DIR holds the binaries. With
  RIE_REPORT set, each function's init duration as the emulator reports it is written there
  (JSON), for `make bench`.

Run by infra/test/test.sh (both) and infra/bench/bench.sh (RIE). Placeholders in the events
(${ACCESS_TOKEN}, ${REFRESH_TOKEN}, ${USER_ID}, ${SESSION_ID}, ${PASSPORT}, ${APP_CODE},
${APP_ID}, ${END_USER_ID}) are filled with what earlier invocations returned, as a client would.
"""
import base64
import json
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


def http(function, event, values=None):
    """An API Gateway HTTP response: (status, parsed body or None, headers)."""
    r = invoke(function, event, values)
    body = r.get("body") or ""
    return r["statusCode"], (json.loads(body) if body else None), r.get("headers", {})


def check(name, condition, detail=""):
    if condition:
        results["passed"] += 1
        print(f"ok   {name}")
    else:
        results["failed"] += 1
        print(f"FAIL {name} {detail}")


def effect(r):
    return r["policyDocument"]["Statement"][0]["Effect"]


def passports(pair):
    """Web-app passports through the real binaries: the apps commands, POST /passport on a
    public and a private app, the app authorizer on its three event shapes, /apps/me behind it,
    revocation by logout and by disabling the app. `pair` is a live account session's."""
    public, private = {"APP_CODE": "support-chat"}, {"APP_CODE": "members-area"}
    for event in ["accounts-create-app", "accounts-create-private-app"]:
        r = invoke("accounts", event)
        check(event, r.get("ok") is True or r.get("error") == "app_exists", r)
    r = invoke("accounts", "accounts-enable-app")
    check("accounts enable_app", r.get("enabled") is True, r)
    status, p, headers = http("passports", "passports-public", public)
    check("passport to a public app", status == 200 and p["app_code"] == "support-chat"
          and headers.get("cache-control") == "no-store", (status, p))
    mine = {**public, "PASSPORT": p["passport"]}
    r = invoke("app-authorizer", "app-authorizer-v2", mine)
    check("app authorizer v2 allow", r.get("isAuthorized") is True
          and r["context"]["end_user_id"] == p["end_user_id"]
          and "user_id" not in r["context"], r)
    context = r["context"]
    r = invoke("app-authorizer", "app-authorizer-rest-request", mine)
    check("app authorizer REST REQUEST allow", effect(r) == "Allow", r)
    r = invoke("app-authorizer", "app-authorizer-rest-token", mine)
    check("app authorizer REST TOKEN deny (no X-App-Code)", effect(r) == "Deny", r)
    r = invoke("app-authorizer", "app-authorizer-v2", {**public, "PASSPORT": pair["access_token"]})
    check("app authorizer denies an access token", r.get("isAuthorized") is False, r)
    r = invoke("authorizer", "authorizer-v2-allow", {"ACCESS_TOKEN": p["passport"]})
    check("account authorizer denies a passport", r.get("isAuthorized") is False, r)
    status, body, _ = http("sessions", "sessions-app-me",
                           {**public, "APP_ID": context["app_id"], "END_USER_ID": p["end_user_id"]})
    check("apps/me answers the context", status == 200 and body == context, (status, body))
    status, renewed, _ = http("passports", "passports-renew", mine)
    check("renewal keeps the end user", status == 200
          and renewed["end_user_id"] == p["end_user_id"], (status, renewed))
    status, body, _ = http("passports", "passports-private-anonymous", private)
    check("private app without sign-in", status == 401 and body["error"] == "sign_in_required", body)
    status, body, _ = http("passports", "passports-private-signed-in",
                           {**private, "ACCESS_TOKEN": pair["access_token"]})
    check("private app signed in", status == 200 and body["app_code"] == "members-area", body)
    status, body, _ = http("passports", "passports-unknown-app")
    check("unknown app", status == 404 and body["error"] == "app_not_found", body)
    status, _, _ = http("passports", "passports-logout", mine)
    check("passport logout", status == 204, status)
    r = invoke("app-authorizer", "app-authorizer-v2", mine)
    check("app authorizer denies after passport logout", r.get("isAuthorized") is False, r)
    live = {**public, "PASSPORT": renewed["passport"]}
    r = invoke("app-authorizer", "app-authorizer-v2", live)
    check("the renewed passport shares the ended session", r.get("isAuthorized") is False, r)
    status, fresh, _ = http("passports", "passports-public", public)
    live = {**public, "PASSPORT": fresh["passport"]}
    r = invoke("accounts", "accounts-get-app")
    check("accounts get_app", r.get("app", {}).get("code") == "support-chat", r)
    r = invoke("accounts", "accounts-list-apps")
    check("accounts list_apps", any(a["code"] == "support-chat" for a in r.get("apps", [])), r)
    r = invoke("accounts", "accounts-disable-app")
    check("accounts disable_app", r.get("enabled") is False, r)
    r = invoke("app-authorizer", "app-authorizer-v2", live)
    check("a disabled app's passport is denied", r.get("isAuthorized") is False, r)
    r = invoke("accounts", "accounts-enable-app")
    r = invoke("app-authorizer", "app-authorizer-v2", live)
    check("enabled again, it is accepted", r.get("isAuthorized") is True, r)
    for event in ["accounts-delete-app", "accounts-delete-private-app"]:
        r = invoke("accounts", event)
        check(event, r.get("ok") is True, r)
    r = invoke("app-authorizer", "app-authorizer-v2", live)
    check("a deleted app's passport is denied", r.get("isAuthorized") is False, r)


def main():
    r = invoke("accounts", "accounts-create")
    check("accounts create", r.get("ok") is True or r.get("error") == "account_exists", r)
    r = invoke("accounts", "accounts-get")
    check("accounts get", r.get("ok") is True and r["account"]["status"] == "active", r)
    r = invoke("accounts", "accounts-bad-command")
    check("accounts bad command", r.get("error") == "invalid_command", r)

    status, a, headers = http("login", "login-success")
    check("login success", status == 200 and a["token_type"] == "Bearer"
          and headers.get("cache-control") == "no-store", (status, a))
    status, b, _ = http("login", "login-base64")
    check("login base64 body", status == 200 and "access_token" in b, (status, b))
    status, body, _ = http("login", "login-wrong-password")
    check("login wrong password", status == 401 and body["error"] == "invalid_credentials", body)
    status, body, _ = http("login", "login-missing-password")
    check("login missing field", status == 400 and "password" in body["message"], body)

    r = invoke("authorizer", "authorizer-v2-allow", {"ACCESS_TOKEN": a["access_token"]})
    check("authorizer v2 allow", r.get("isAuthorized") is True
          and r["context"]["session_id"] == a["session_id"], r)
    ids = {"USER_ID": r["context"]["user_id"], "SESSION_ID": a["session_id"]}
    r = invoke("authorizer", "authorizer-v2-deny")
    check("authorizer v2 deny", r.get("isAuthorized") is False, r)
    r = invoke("authorizer", "authorizer-rest-token", {"ACCESS_TOKEN": a["access_token"]})
    check("authorizer REST TOKEN allow", r["policyDocument"]["Statement"][0]["Effect"] == "Allow"
          and r["principalId"] == ids["USER_ID"], r)
    r = invoke("authorizer", "authorizer-rest-token", {"ACCESS_TOKEN": "not-a-token"})
    check("authorizer REST TOKEN deny", r["policyDocument"]["Statement"][0]["Effect"] == "Deny", r)
    r = invoke("authorizer", "authorizer-rest-request", {"ACCESS_TOKEN": a["access_token"]})
    check("authorizer REST REQUEST allow", r["policyDocument"]["Statement"][0]["Effect"] == "Allow", r)
    r = invoke("authorizer", "authorizer-rest-request-deny", {"ACCESS_TOKEN": a["access_token"]})
    check("authorizer REST REQUEST deny", r["policyDocument"]["Statement"][0]["Effect"] == "Deny", r)

    header = json.loads(base64.urlsafe_b64decode(a["access_token"].split(".")[0] + "=="))
    status, jwks, headers = http("sessions", "sessions-jwks")
    # ES256: the login function published its key; HS256: nothing is ever published.
    listed = [k["kid"] for k in jwks["keys"]] if status == 200 else None
    check(f"jwks ({header['alg']})", status == 200
          and (header["kid"] in listed if header["alg"] == "ES256" else listed == [])
          and headers.get("cache-control", "").startswith("public, max-age="), (status, jwks))
    status, body, _ = http("sessions", "sessions-openid-configuration")
    check("discovery document", status == 200
          and body["jwks_uri"].endswith("/.well-known/jwks.json"), (status, body))

    status, body, _ = http("sessions", "sessions-me", ids)
    check("me", status == 200 and body["email"] == "ada@example.com"
          and body["amr"] == ["pwd"] and body["auth_time"], (status, body))
    # Passkeys and recent authentication (PASSKEY_ORIGINS is set in the env file): the options
    # of both ceremonies, and the refusals a fixture can reach without an authenticator.
    status, body, _ = http("login", "login-passkey-options")
    check("passkey sign-in options", status == 200 and body["ceremony"]
          and body["publicKey"]["rpId"] == "app.example.com", (status, body))
    status, body, _ = http("login", "login-passkey-unknown-ceremony")
    check("passkey sign-in, unknown ceremony", status == 401
          and body["error"] == "invalid_credentials", (status, body))
    status, body, _ = http("sessions", "sessions-reauthenticate", ids)
    check("reauthenticate", status == 200 and body["amr"] == ["pwd"], (status, body))
    status, body, _ = http("sessions", "sessions-passkey-options", ids)
    check("passkey registration options", status == 200 and body["ceremony"]
          and body["publicKey"]["authenticatorSelection"]["residentKey"] == "required",
          (status, body))
    status, body, _ = http("sessions", "sessions-passkey-register-unknown-ceremony", ids)
    check("passkey registration, unknown ceremony", status == 401
          and body["error"] == "passkey_not_verified", (status, body))
    status, body, _ = http("sessions", "sessions-passkeys", ids)
    check("passkeys", status == 200 and body == {"passkeys": []}, (status, body))
    status, body, _ = http("sessions", "sessions-passkey-remove-not-found", ids)
    check("passkey removal, unknown", status == 404 and body["error"] == "not_found", (status, body))
    status, body, _ = http("sessions", "sessions-list", ids)
    check("sessions list", status == 200 and len(body["sessions"]) == 2
          and sum(s["current"] for s in body["sessions"]) == 1, (status, body))
    status, body, _ = http("sessions", "sessions-revoke-not-found", ids)
    check("sessions revoke unknown", status == 404 and body["error"] == "not_found", body)
    status, body, _ = http("sessions", "sessions-no-context")
    check("sessions without authorizer context", status == 401, (status, body))
    status, _, _ = http("sessions", "sessions-revoke",
                        {"USER_ID": ids["USER_ID"], "SESSION_ID": b["session_id"]})
    check("sessions revoke", status == 204, status)

    status, body, _ = http("refresh", "refresh-success", {"REFRESH_TOKEN": a["refresh_token"]})
    check("refresh", status == 200 and body["refresh_token"] != a["refresh_token"], (status, body))
    fresh = body
    status, body, _ = http("refresh", "refresh-invalid")
    check("refresh invalid", status == 401 and body["error"] == "invalid_refresh_token", body)
    status, body, _ = http("refresh", "refresh-dbsc-register-bad-proof")
    check("DBSC registration, bad proof", status == 401
          and body["error"] == "invalid_session_proof", (status, body))
    status, body, _ = http("refresh", "refresh-dbsc-refresh-ended")
    check("DBSC refresh of no session", status == 200 and body["continue"] is False, (status, body))

    status, _, _ = http("logout", "logout-bearer", {"ACCESS_TOKEN": fresh["access_token"]})
    check("logout", status == 204, status)
    r = invoke("authorizer", "authorizer-v2-allow", {"ACCESS_TOKEN": fresh["access_token"]})
    check("authorizer denies after logout", r.get("isAuthorized") is False, r)
    status, body, _ = http("logout", "logout-unauthorized")
    check("logout without credentials", status == 401 and body["error"] == "unauthorized", body)

    # The cookie transport through the real binaries: API Gateway's payload 2.0 carries the
    # request's cookies in `cookies` and takes the answer's from `cookies` (lambda_http maps
    # them to and from the Cookie and Set-Cookie headers).
    r = invoke("login", "login-cookie")
    set_cookies = r.get("cookies") or []
    check("login by cookie", r["statusCode"] == 200 and "refresh_token" not in json.loads(r["body"])
          and len(set_cookies) == 1 and set_cookies[0].startswith("__Host-passport_refresh=")
          and "HttpOnly" in set_cookies[0] and "SameSite=Strict" in set_cookies[0], r)
    token = set_cookies[0].split(";")[0].split("=", 1)[1]
    r = invoke("refresh", "refresh-cookie-cross-site", {"REFRESH_TOKEN": token})
    check("refresh by cookie from another site",
          r["statusCode"] == 403 and json.loads(r["body"])["error"] == "csrf_rejected"
          and not r.get("cookies"), r)
    r = invoke("refresh", "refresh-cookie", {"REFRESH_TOKEN": token})
    rotated = (r.get("cookies") or [""])[0]
    check("refresh by cookie", r["statusCode"] == 200 and "refresh_token" not in json.loads(r["body"])
          and rotated.startswith("__Host-passport_refresh=") and token not in rotated, r)
    token = rotated.split(";")[0].split("=", 1)[1]
    r = invoke("logout", "logout-cookie", {"REFRESH_TOKEN": token})
    check("logout by cookie clears it", r["statusCode"] == 204
          and "Max-Age=0" in (r.get("cookies") or [""])[0], r)
    r = invoke("refresh", "refresh-cookie", {"REFRESH_TOKEN": token})
    check("refresh after logout by cookie", r["statusCode"] == 401, r)

    # The password change through the real binary: a wrong current password, the change, the
    # old password refused; then an operator sets it back (ending every session).
    status, c, _ = http("login", "login-success")
    mine = {"USER_ID": ids["USER_ID"], "SESSION_ID": c["session_id"]}
    status, body, _ = http("sessions", "sessions-password-wrong", mine)
    check("password change, wrong current password",
          status == 401 and body["error"] == "invalid_credentials", (status, body))
    status, body, _ = http("sessions", "sessions-password", mine)
    check("password change", status == 204, (status, body))
    status, body, _ = http("login", "login-success")
    check("old password refused", status == 401 and body["error"] == "invalid_credentials", body)
    r = invoke("accounts", "accounts-set-password")
    check("accounts set_password", r.get("ok") is True and r.get("sessions_ended") is True, r)
    status, body, _ = http("login", "login-success")
    check("login with the password set back", status == 200, (status, body))

    passports(body)

    r = invoke("accounts", "accounts-disable")
    check("accounts disable", r.get("ok") is True and r.get("status") == "disabled", r)
    status, body, _ = http("login", "login-success")
    check("login after disable", status == 403 and body["error"] == "account_disabled", body)

    unused = {p.stem for p in EVENTS.glob("*.json")} - used
    check("every event file invoked", not unused, sorted(unused))
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

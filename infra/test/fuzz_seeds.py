#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/) from events/ and from
real tokens signed with the fuzzing key. Run it again after changing events/ or the key."""
import base64
import hashlib
import hmac
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "fuzz" / "corpus"
KEY = b"passport-fuzzing-only-signing-key-0123456789"  # fuzz/fuzz_targets/token_verify.rs
NOW = 1_795_860_000


def b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def token(claims, header=None):
    kid = "literal-" + hashlib.sha256(b"passport/kid/v1" + KEY).hexdigest()[:16]
    header = header or {"alg": "HS256", "typ": "at+jwt", "kid": kid}
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    sig = hmac.new(KEY, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(sig)


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


ids = {"sub": "AAAAAAAAAAAAAAAAAAAAAA", "sid": "AQEBAQEBAQEBAQEBAQEBAQ"}
good = token({"iss": "passport", "jti": "j", "iat": NOW - 60, "exp": NOW + 840, **ids})
write("token_verify", "valid", good)
write("token_verify", "bearer-valid", "Bearer " + good)
write("token_verify", "expired", token({"iss": "passport", "jti": "j", "iat": NOW - 2000, "exp": NOW - 1000, **ids}))
write("token_verify", "alg-none", b64(b'{"alg":"none","typ":"at+jwt"}') + "." + good.split(".")[1] + ".")
write("token_verify", "refresh-token", b64(bytes(range(64))))

for event in sorted((ROOT / "events").glob("*.json")):
    text = event.read_text().replace("${ACCESS_TOKEN}", good).replace("${REFRESH_TOKEN}", b64(bytes(64)))
    text = text.replace("${USER_ID}", ids["sub"]).replace("${SESSION_ID}", ids["sid"])
    if event.name.startswith("authorizer-"):
        write("authorizer_event", event.stem, text)
    data = json.loads(text)
    body = data.get("body")
    if isinstance(body, str) and not data.get("isBase64Encoded"):
        # 0x40..0x7f is POST; the selector modulo 3 picks the parser (login 0, refresh 1, logout 2).
        route = {"login": 0x42, "refresh": 0x40, "logout": 0x41}.get(event.stem.split("-")[0])
        if route is not None:
            path = data.get("rawPath", "/")
            head = f"{path}\ncontent-type: application/json\nauthorization: Bearer {good}\n"
            write("http_requests", event.stem, bytes([route]) + head.encode() + b"\0" + body.encode())
print("seeds written to", CORPUS)

"""The Python authorizer a team would write instead of Passport's: the same job (verify an HS256
JWT with its `typ`, `iss` and `exp`, then EXISTS on the session key in the same Redis) with the
usual libraries, PyJWT and redis-py, run by AWS's runtime interface client (`awslambdaric`).
Answers an HTTP API (payload 2.0) simple response, as Passport's does."""
import os

import jwt
import redis

KEY = os.environ["SIGNING_SECRET"]
ISSUER = os.environ.get("TOKEN_ISSUER", "passport")
# Connected at init, as Passport's function connects at init.
REDIS = redis.Redis.from_url(os.environ["REDIS_URL"])
REDIS.ping()
DENY = {"isAuthorized": False, "context": {}}


def handler(event, _context):
    header = (event.get("headers") or {}).get("authorization") or \
        (event.get("identitySource") or [""])[0]
    if header[:7].lower() != "bearer ":
        return DENY
    token = header[7:]
    try:
        if jwt.get_unverified_header(token).get("typ") != "at+jwt":
            return DENY
        claims = jwt.decode(token, KEY, algorithms=["HS256"], issuer=ISSUER,
                            options={"require": ["exp", "iss", "sub", "sid"]})
    except jwt.InvalidTokenError:
        return DENY
    if not REDIS.exists(f"pp:{{{claims['sub']}}}:s:{claims['sid']}"):
        return DENY
    return {"isAuthorized": True,
            "context": {"user_id": claims["sub"], "session_id": claims["sid"]}}

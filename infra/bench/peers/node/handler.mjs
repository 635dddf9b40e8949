// The Node.js authorizer a team would write instead of Passport's: the same job (verify an HS256
// JWT with its `typ`, `iss` and `exp`, then EXISTS on the session key in the same Redis) with
// the usual libraries, jsonwebtoken and ioredis. Answers an HTTP API (payload 2.0) simple
// response, as Passport's does.
import jwt from "jsonwebtoken";
import Redis from "ioredis";

const key = process.env.SIGNING_SECRET;
const issuer = process.env.TOKEN_ISSUER ?? "passport";
// Connected at init, as Passport's function connects at init.
const redis = new Redis(process.env.REDIS_URL);
const deny = { isAuthorized: false, context: {} };

export async function handler(event) {
  const header = event.headers?.authorization ?? event.identitySource?.[0] ?? "";
  if (!/^bearer /i.test(header)) return deny;
  let claims;
  try {
    const decoded = jwt.verify(header.slice(7), key, { algorithms: ["HS256"], issuer, complete: true });
    if (decoded.header.typ !== "at+jwt") return deny;
    claims = decoded.payload;
  } catch {
    return deny;
  }
  if (typeof claims.sub !== "string" || typeof claims.sid !== "string") return deny;
  if (!(await redis.exists(`pp:{${claims.sub}}:s:${claims.sid}`))) return deny;
  return { isAuthorized: true, context: { user_id: claims.sub, session_id: claims.sid } };
}

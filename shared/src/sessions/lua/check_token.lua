-- Classifies a refresh token presented as a credential without spending it (logout). Returns
-- 'current', 'previous' (the just-spent token, within the grace window), 'reused' (the previous
-- token past the window, or an older token of the session's family: the session is ended, as
-- at rotation) or 'invalid'. Digests come in the stored form and the hex one of sessions started
-- before issue 38 (`TokenDigest::to_stored`).
local session, sessions = unpack(KEYS)
local sid, presented_digest, presented_legacy_digest, family_digest, family_legacy_digest, now, grace = unpack(ARGV)
local s = redis.call('HMGET', session, 'cur', 'prev', 'rot', 'exp', 'fam')
now = tonumber(now)
if not s[1] or tonumber(s[4]) <= now then
  return 'invalid'
end
if ct_eq(s[1], presented_digest) or ct_eq(s[1], presented_legacy_digest) then
  return 'current'
end
local reused
if ct_eq(s[2], presented_digest) or ct_eq(s[2], presented_legacy_digest) then
  grace = tonumber(grace)
  if grace > 0 and now - tonumber(s[3]) <= grace then
    return 'previous'
  end
  reused = true
else
  reused = ct_eq(s[5], family_digest) or ct_eq(s[5], family_legacy_digest)
end
if not reused then
  return 'invalid'
end
redis.call('DEL', session)
redis.call('ZREM', sessions, sid)
record_stolen(sessions, now)
return 'reused'

-- Classifies a refresh token presented as a credential without spending it (logout). Returns
-- 'current', 'previous' (the just-spent token, within the grace window), 'reused' (the previous
-- token past the window, or an older token of the session's family: the session is ended, as
-- at rotation) or 'invalid'. Digests come in every form a live session may keep
-- (`TokenDigest::stored_forms`).
local session, sessions = unpack(KEYS)
local sid, presented_digest, presented_whole_digest, presented_legacy_digest, family_digest, family_whole_digest, family_legacy_digest, now, grace = unpack(ARGV)
local function presented(kept)
  return ct_eq(kept, presented_digest) or ct_eq(kept, presented_whole_digest)
    or ct_eq(kept, presented_legacy_digest)
end
local s = redis.call('HMGET', session, 'cur', 'prev', 'rot', 'exp', 'fam')
now = tonumber(now)
if not s[1] or tonumber(s[4]) <= now then
  return 'invalid'
end
if presented(s[1]) then
  return 'current'
end
local reused
if presented(s[2]) then
  grace = tonumber(grace)
  if grace > 0 and now - tonumber(s[3]) <= grace then
    return 'previous'
  end
  reused = true
else
  reused = ct_eq(s[5], family_digest) or ct_eq(s[5], family_whole_digest)
    or ct_eq(s[5], family_legacy_digest)
end
if not reused then
  return 'invalid'
end
redis.call('DEL', session)
redis.call('ZREM', sessions, sid)
record_stolen(sessions, now)
return 'reused'

-- Spends the presented refresh token for its successor. Returns {'rotated', exp, at, amr,
-- created}, {'replayed', exp, at, amr, created} (the session's authentication rides along: the
-- new access token carries it) (the just-spent token within the grace window, or the store retrying the
-- request that rotated), {'reused'} (a spent token of the session's family: the session is
-- ended) or {'invalid'}.
local session, sessions = unpack(KEYS)
local sid, presented_digest, successor_digest, family_digest, request_id, now, idle_ttl, grace = unpack(ARGV)
local s = redis.call('HMGET', session, 'cur', 'prev', 'rot', 'exp', 'abs', 'fam', 'rid', 'at', 'amr',
  'created')
now = tonumber(now)
if not s[1] or tonumber(s[4]) <= now then
  return {'invalid'}
end
if ct_eq(s[1], presented_digest) then
  local exp = math.min(now + tonumber(idle_ttl), tonumber(s[5]))
  redis.call('HSET', session, 'cur', successor_digest, 'prev', presented_digest, 'rot', now,
    'last', now, 'exp', exp, 'rid', request_id)
  redis.call('EXPIREAT', session, exp)
  track(sessions, sid, now, exp)
  return {'rotated', exp, s[8], s[9], s[10]}
end
local reused = false
if ct_eq(s[2], presented_digest) then
  local same_successor = ct_eq(s[1], successor_digest)
  if same_successor and s[7] == request_id then
    return {'replayed', tonumber(s[4]), s[8], s[9], s[10]}
  end
  grace = tonumber(grace)
  if grace > 0 and now - tonumber(s[3]) <= grace then
    if same_successor then
      return {'replayed', tonumber(s[4]), s[8], s[9], s[10]}
    end
    return {'invalid'}
  end
  reused = true
else
  reused = ct_eq(s[6], family_digest)
end
if not reused then
  return {'invalid'}
end
redis.call('DEL', session)
redis.call('ZREM', sessions, sid)
return {'reused'}

-- Spends the presented refresh token for its successor. Returns {'rotated', exp},
-- {'replayed', exp} (the just-spent token within the grace window), {'reused'} (the session is
-- ended) or {'invalid'}.
local session, sessions = unpack(KEYS)
local sid, presented_digest, successor_digest, now, idle_ttl, grace = unpack(ARGV)
local s = redis.call('HMGET', session, 'cur', 'prev', 'rot', 'exp', 'abs')
now = tonumber(now)
if not s[1] or tonumber(s[4]) <= now then
  return {'invalid'}
end
if ct_eq(s[1], presented_digest) then
  local exp = math.min(now + tonumber(idle_ttl), tonumber(s[5]))
  redis.call('HSET', session, 'cur', successor_digest, 'prev', presented_digest, 'rot', now,
    'last', now, 'exp', exp)
  redis.call('EXPIREAT', session, exp)
  track(sessions, sid, now, exp)
  return {'rotated', exp}
end
if ct_eq(s[2], presented_digest) then
  grace = tonumber(grace)
  if grace > 0 and now - tonumber(s[3]) <= grace then
    if ct_eq(s[1], successor_digest) then
      return {'replayed', tonumber(s[4])}
    end
    return {'invalid'}
  end
  redis.call('DEL', session)
  redis.call('ZREM', sessions, sid)
  return {'reused'}
end
return {'invalid'}

-- KEYS[1] session hash, KEYS[2] account's session set
-- ARGV: sid, presented digest, successor digest, now, idle ttl, grace
local s = redis.call('HMGET', KEYS[1], 'cur', 'prev', 'rot', 'exp', 'abs')
local now = tonumber(ARGV[4])
if not s[1] or tonumber(s[4]) <= now then
  return {'invalid'}
end
if ct_eq(s[1], ARGV[2]) then
  local exp = math.min(now + tonumber(ARGV[5]), tonumber(s[5]))
  redis.call('HSET', KEYS[1], 'cur', ARGV[3], 'prev', ARGV[2], 'rot', now, 'last', now, 'exp', exp)
  redis.call('EXPIREAT', KEYS[1], exp)
  track(KEYS[2], ARGV[1], now, exp)
  return {'rotated', exp}
end
if ct_eq(s[2], ARGV[2]) then
  local grace = tonumber(ARGV[6])
  if grace > 0 and now - tonumber(s[3]) <= grace then
    if ct_eq(s[1], ARGV[3]) then
      return {'replayed', tonumber(s[4])}
    end
    return {'invalid'}
  end
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {'reused'}
end
return {'invalid'}

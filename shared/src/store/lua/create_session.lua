-- KEYS[1] account hash, KEYS[2] session hash, KEYS[3] account's session set
-- ARGV: sid, digest, device, user agent, ip, now, expires_at, absolute_expires_at
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return 'missing'
end
if status ~= 'active' then
  return status
end
redis.call('HSET', KEYS[2], 'cur', ARGV[2], 'dev', ARGV[3], 'ua', ARGV[4], 'ip', ARGV[5],
  'created', ARGV[6], 'last', ARGV[6], 'exp', ARGV[7], 'abs', ARGV[8])
redis.call('EXPIREAT', KEYS[2], ARGV[7])
track(KEYS[3], ARGV[1], tonumber(ARGV[6]), tonumber(ARGV[7]))
return 'started'

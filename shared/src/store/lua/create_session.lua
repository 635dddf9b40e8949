-- Starts a session if the account is active. Returns 'started', 'missing' or the status.
local account, session, sessions = unpack(KEYS)
local sid, digest, family_digest, device, user_agent, ip, now, expires_at, absolute_expires_at = unpack(ARGV)
local status = redis.call('HGET', account, 'status')
if not status then
  return 'missing'
end
if status ~= 'active' then
  return status
end
redis.call('HSET', session, 'cur', digest, 'fam', family_digest, 'dev', device, 'ua', user_agent,
  'ip', ip, 'created', now, 'last', now, 'exp', expires_at, 'abs', absolute_expires_at)
redis.call('EXPIREAT', session, expires_at)
track(sessions, sid, tonumber(now), tonumber(expires_at))
return 'started'

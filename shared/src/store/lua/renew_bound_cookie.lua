-- Records a bound session's new bound cookie. Returns 1, or 0 when the session has ended or is
-- not bound.
local session = unpack(KEYS)
local cookie, cookie_expires_at = unpack(ARGV)
if not redis.call('HGET', session, 'dbk') then
  return 0
end
redis.call('HSET', session, 'dbc', cookie, 'dbce', cookie_expires_at)
return 1

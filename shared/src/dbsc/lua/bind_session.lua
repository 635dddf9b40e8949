-- Binds a live session to a device key (DBSC) with its first bound cookie, unless it is bound to
-- another key. Returns 'bound', 'taken' or 'gone'.
local session = unpack(KEYS)
local key, cookie, cookie_expires_at = unpack(ARGV)
if redis.call('EXISTS', session) == 0 then
  return 'gone'
end
local bound = long_get(session, 'dbk')
if bound and bound ~= key then
  return 'taken'
end
long_set(session, 'dbk', key)
redis.call('HSET', session, 'dbc', cookie, 'dbce', cookie_expires_at)
return 'bound'

-- Records a bound session's new bound cookie, the one it replaces kept as the previous (dbp,
-- dbpe: honoured until its own expiry). Returns 1, or 0 when the session has ended or is not
-- bound.
local session = unpack(KEYS)
local cookie, cookie_expires_at = unpack(ARGV)
local bound = redis.call('HMGET', session, 'dbk', 'dbc', 'dbce')
if not bound[1] then
  return 0
end
redis.call('HSET', session, 'dbc', cookie, 'dbce', cookie_expires_at,
  'dbp', bound[2] or '', 'dbpe', bound[3] or '0')
return 1

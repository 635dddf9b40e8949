-- Records a bound session's new bound cookie, the one it replaces kept as the previous (dbp,
-- dbpe: honoured until its own expiry), if the cookie in force is still `expected` (the one the
-- renewal's challenge was made for: a challenge renews once). Returns 1; 2 when another
-- cookie is in force; 0 when the session has ended or is not bound.
local session = unpack(KEYS)
local cookie, cookie_expires_at, expected = unpack(ARGV)
local bound = redis.call('HMGET', session, 'dbk', 'dbc', 'dbce')
if not bound[1] then
  return 0
end
if not ct_eq(expected, bound[2] or '') then
  return 2
end
redis.call('HSET', session, 'dbc', cookie, 'dbce', cookie_expires_at,
  'dbp', bound[2] or '', 'dbpe', bound[3] or '0')
return 1

-- Records a new authentication of a live session (the key expires with the session), and its
-- grant for one action that adds a way to sign in (`sup`, spent by that action). Returns 1, or
-- 0 when the session has ended.
local session = unpack(KEYS)
local auth_time, amr = unpack(ARGV)
if redis.call('EXISTS', session) == 0 then
  return 0
end
redis.call('HSET', session, 'at', auth_time, 'amr', amr, 'sup', auth_time)
return 1

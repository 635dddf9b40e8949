-- Records a new authentication of a live session (the key expires with the session). Returns 1,
-- or 0 when the session has ended.
local session = unpack(KEYS)
local auth_time, amr = unpack(ARGV)
if redis.call('EXISTS', session) == 0 then
  return 0
end
redis.call('HSET', session, 'at', auth_time, 'amr', amr)
return 1

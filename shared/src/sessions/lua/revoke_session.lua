-- Ends one session; returns 1 if it was live at `now`, else 0 (expired or unknown).
local session, sessions = unpack(KEYS)
local sid, now = unpack(ARGV)
local exp = redis.call('HGET', session, 'exp')
redis.call('DEL', session)
redis.call('ZREM', sessions, sid)
if exp and tonumber(exp) > tonumber(now) then
  return 1
end
return 0

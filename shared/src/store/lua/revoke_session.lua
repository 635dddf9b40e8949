-- Ends one session; returns 1 if it existed.
local session, sessions = unpack(KEYS)
local sid = unpack(ARGV)
local n = redis.call('DEL', session)
redis.call('ZREM', sessions, sid)
return n

-- KEYS[1] session hash, KEYS[2] account's session set; ARGV: sid
local n = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return n

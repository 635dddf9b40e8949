-- Keeps a new sign-in code for an address, with the account its index entry named when read
-- (or ''), its tries at zero, replacing any code before it.
local code = unpack(KEYS)
local digest, account, ttl = unpack(ARGV)
redis.call('DEL', code)
redis.call('HSET', code, 'd', digest, 'a', account, 'n', 0)
redis.call('EXPIRE', code, ttl)
return 1

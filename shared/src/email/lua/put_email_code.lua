-- Keeps a new sign-in code for an address, with the account its index entry names now (or ''),
-- its tries at zero, replacing any code before it. Returns that account id, or ''.
local index, code = unpack(KEYS)
local digest, ttl = unpack(ARGV)
local account = redis.call('GET', index) or ''
redis.call('DEL', code)
redis.call('HSET', code, 'd', digest, 'a', account, 'n', 0)
redis.call('EXPIRE', code, ttl)
return account

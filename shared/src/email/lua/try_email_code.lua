-- Counts a try of an address's sign-in code. Returns {digest, account}, or nil when there is no
-- code or this try is one past `max_tries` (the code then ends).
local code = unpack(KEYS)
local max_tries = unpack(ARGV)
if redis.call('EXISTS', code) == 0 then
  return false
end
local n = redis.call('HINCRBY', code, 'n', 1)
if n > tonumber(max_tries) then
  redis.call('DEL', code)
  return false
end
return redis.call('HMGET', code, 'd', 'a')

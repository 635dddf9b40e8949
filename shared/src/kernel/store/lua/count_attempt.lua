-- Counts one attempt; the window starts at the first count. Returns {count, seconds left in
-- the window}. Never leaves the counter without a TTL.
local counter = unpack(KEYS)
local window = unpack(ARGV)
local n = redis.call('INCR', counter)
local ttl = redis.call('TTL', counter)
if ttl < 0 then
  redis.call('EXPIRE', counter, window)
  ttl = tonumber(window)
end
return {n, ttl}

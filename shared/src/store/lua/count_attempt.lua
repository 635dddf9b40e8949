-- KEYS[1] counter; ARGV[1] window in seconds. Counts one; the window starts at the first count.
-- Returns {count, seconds left in the window}. Never leaves the counter without a TTL.
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}

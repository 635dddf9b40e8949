-- Takes back one count from a counter (never below zero, never touching its TTL).
local counter = unpack(KEYS)
local n = tonumber(redis.call('GET', counter) or '0')
if n > 0 then
  redis.call('DECR', counter)
end
return 0

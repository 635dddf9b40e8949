-- Counts one attempt; the window starts at the first count. Returns {count, seconds left in
-- the window}.
local counter = unpack(KEYS)
local window = unpack(ARGV)
local n, ttl = count(counter, window)
return {n, ttl}

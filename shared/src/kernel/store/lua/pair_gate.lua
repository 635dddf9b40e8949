-- Counts one login attempt for an email from a network, unless that network is already at
-- `max` attempts for it in the window (then counts nothing: the attempt is refused, and must not
-- count toward the email's attempts from everywhere either). Returns {refused (0/1), count,
-- seconds left in the window}.
local counter = unpack(KEYS)
local window, max = unpack(ARGV)
local n = tonumber(redis.call('GET', counter) or '0')
if n >= tonumber(max) then
  return {1, n, redis.call('TTL', counter)}
end
local c, ttl = count(counter, window)
return {0, c, ttl}

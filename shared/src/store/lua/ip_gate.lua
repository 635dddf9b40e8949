-- The address's gate to a login attempt: when the address is at its failure limit, counts
-- nothing and answers blocked; otherwise counts the attempt for this email from this address.
-- Returns {blocked (0/1), address failures, their ttl, pair attempts, their ttl}.
local ip_failures, pair = unpack(KEYS)
local window, ip_max = unpack(ARGV)
local failures = tonumber(redis.call('GET', ip_failures) or '0')
local failures_ttl = redis.call('TTL', ip_failures)
if failures >= tonumber(ip_max) then
  return {1, failures, failures_ttl, 0, 0}
end
local n = redis.call('INCR', pair)
local ttl = redis.call('TTL', pair)
if ttl < 0 then
  redis.call('EXPIRE', pair, window)
  ttl = tonumber(window)
end
return {0, failures, failures_ttl, n, ttl}

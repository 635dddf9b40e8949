-- The address's gate to a login attempt: when the address is at its failure limit, counts
-- nothing and answers blocked; otherwise counts the attempt for this email from this address,
-- and with `reserve` = 1 also toward the address's failures before the password is checked (a
-- reservation, given back on success: a burst of parallel attempts cannot all pass the limit).
-- Returns {blocked (0/1), address failures, their ttl, pair attempts, their ttl}.
local ip_failures, pair = unpack(KEYS)
local window, ip_max, reserve = unpack(ARGV)
local failures = tonumber(redis.call('GET', ip_failures) or '0')
local failures_ttl = redis.call('TTL', ip_failures)
if failures >= tonumber(ip_max) then
  return {1, failures, failures_ttl, 0, 0}
end
if reserve == '1' then
  failures, failures_ttl = count(ip_failures, window)
end
local n, ttl = count(pair, window)
return {0, failures, failures_ttl, n, ttl}

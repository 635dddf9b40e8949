-- The address's gate to a login attempt: when the address is at its failure limit, counts
-- nothing and answers blocked; otherwise, with `reserve` = 1, counts the attempt toward the
-- address's failures before the password is checked (a reservation, given back on success: a
-- burst of parallel attempts cannot all pass the limit). The attempt's count for its email
-- from its network is taken beside this (another slot for an IPv6 client's /48), and taken
-- back when the address is blocked. Returns {blocked (0/1), address failures, their ttl}.
local ip_failures = unpack(KEYS)
local window, ip_max, reserve = unpack(ARGV)
local failures = tonumber(redis.call('GET', ip_failures) or '0')
local failures_ttl = redis.call('TTL', ip_failures)
if failures >= tonumber(ip_max) then
  return {1, failures, failures_ttl}
end
if reserve == '1' then
  failures, failures_ttl = count(ip_failures, window)
end
return {0, failures, failures_ttl}

-- Shared by every script (prepended at build time).

-- Compares two strings in time that depends only on their length.
local function ct_eq(a, b)
  if type(a) ~= 'string' or type(b) ~= 'string' or #a ~= #b then
    return false
  end
  local diff = 0
  for i = 1, #a do
    diff = bit.bor(diff, bit.bxor(string.byte(a, i), string.byte(b, i)))
  end
  return diff == 0
end

-- Counts one attempt on `counter`, whose window of `window` seconds starts at its first count.
-- Returns the count and the seconds left in the window; never leaves the counter without a TTL.
local function count(counter, window)
  local n = redis.call('INCR', counter)
  local ttl = redis.call('TTL', counter)
  if ttl < 0 then
    redis.call('EXPIRE', counter, window)
    ttl = tonumber(window)
  end
  return n, ttl
end

-- Records session `sid` with expiry `exp` in the account's set `set`, drops entries that
-- expired by `now`, and keeps the set alive exactly as long as its longest-lived session.
local function track(set, sid, now, exp)
  redis.call('ZADD', set, exp, sid)
  redis.call('ZREMRANGEBYSCORE', set, '-inf', now)
  local last = redis.call('ZRANGE', set, -1, -1, 'WITHSCORES')
  if last[2] then
    redis.call('EXPIREAT', set, last[2])
  end
end

-- Ends the account's private-app passports: their index beside the account's session set
-- (`pp:{<account>}:passports`, same hash tag), which the app authorizer checks for them.
local function end_private_passports(sessions_set)
  redis.call('DEL', (string.gsub(sessions_set, ':sessions$', ':passports')))
end

-- Deletes every session listed in the account's set, then the set, and ends the account's
-- private-app passports; returns how many sessions.
-- Session keys are derived from the set's members and share the account's hash tag.
local function revoke_all(set, prefix)
  local ids = redis.call('ZRANGE', set, 0, -1)
  for _, id in ipairs(ids) do
    redis.call('DEL', prefix .. id)
  end
  redis.call('DEL', set)
  end_private_passports(set)
  return #ids
end

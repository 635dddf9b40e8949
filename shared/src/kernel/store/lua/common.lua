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

-- Redis keeps a hash in its compact encoding (listpack) only while every value is at most
-- `hash-max-listpack-value` (64) bytes, and never converts it back
-- (https://redis.io/docs/latest/develop/data-types/hashes/ , "Hashes" memory optimisation).
-- A value that can be longer (an email, a password hash, a device name, a device key) is kept
-- as parts of at most 64 bytes, `<field>`, `<field>1`, … `<field>17`, cut between UTF-8
-- characters; `long_get` joins them, and also reads a value written whole before.
local LONG_PART = 64
local LONG_PARTS = 18

local function long_names(field)
  local names = { field }
  for i = 1, LONG_PARTS - 1 do
    names[i + 1] = field .. i
  end
  return names
end

local function long_get(key, field)
  local parts = redis.call('HMGET', key, unpack(long_names(field)))
  if not parts[1] then
    return false
  end
  local out = {}
  for _, part in ipairs(parts) do
    if part then
      out[#out + 1] = part
    end
  end
  return table.concat(out)
end

-- The `HSET` arguments that store `value` under `field` as parts; a part no longer needed is
-- written empty when it exists (no `HDEL`: the cache users may lack it).
local function long_args(key, field, value)
  local names = long_names(field)
  local old = redis.call('HMGET', key, unpack(names))
  local args, rest = {}, value
  for i = 1, LONG_PARTS do
    local cut = math.min(#rest, LONG_PART)
    while cut < #rest and cut > 1 do
      local b = string.byte(rest, cut + 1)
      if b < 0x80 or b >= 0xC0 then
        break
      end
      cut = cut - 1
    end
    local part = string.sub(rest, 1, cut)
    rest = string.sub(rest, cut + 1)
    if i == 1 or part ~= '' or (old[i] and old[i] ~= '') then
      args[#args + 1] = names[i]
      args[#args + 1] = part
    end
  end
  return args
end

-- Stores `value` under `field` as parts (see `long_args`).
local function long_set(key, field, value)
  redis.call('HSET', key, unpack(long_args(key, field, value)))
end

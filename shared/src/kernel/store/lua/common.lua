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

-- Whether taking one way to sign in away (a passkey, an identity provider) would leave the
-- account none: it has no password, and that one is its only passkey or provider.
local function last_way_in(account, passkeys, identities)
  local pw = redis.call('HGET', account, 'pw')
  if pw and pw ~= '' then
    return false
  end
  return redis.call('HLEN', passkeys) + redis.call('HLEN', identities) <= 1
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

-- How many of the first `max` bytes of `s` to keep so that the cut falls between UTF-8
-- characters (at least one of a non-empty `s`).
local function utf8_cut(s, max)
  local cut = math.min(#s, max)
  while cut < #s and cut > 1 do
    local b = string.byte(s, cut + 1)
    if b < 0x80 or b >= 0xC0 then
      break
    end
    cut = cut - 1
  end
  return cut
end

-- The `HSET` arguments that store `value` under `field` as parts; a part no longer needed is
-- written empty when it exists (no `HDEL`: the cache users may lack it).
local function long_args(key, field, value)
  local names = long_names(field)
  local old = redis.call('HMGET', key, unpack(names))
  local args, rest = {}, value
  for i = 1, LONG_PARTS do
    local cut = utf8_cut(rest, LONG_PART)
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

-- The account's security history (`kernel/activity.rs`), a list newest first in the account's
-- hash slot. `record_event` pushes `entry` (JSON whose first member is "t"), numbered one after the
-- newest ("n", put first), keeps at most LOG_MAX entries and none LOG_AGE seconds older than
-- it, and keeps the list LOG_AGE seconds after its newest entry. A list this short stays in
-- Redis's compact encoding (`list-max-listpack-size`, 8 KB per node).
local LOG_MAX = 50
local LOG_AGE = 7776000

local function log_time(stored)
  return tonumber(string.match(stored, '"t":(%-?%d+)')) or 0
end

local function record_event(log, entry)
  local newest = redis.call('LINDEX', log, 0)
  local n = (newest and tonumber(string.match(newest, '^{"n":(%d+),')) or 0) + 1
  redis.call('LPUSH', log, '{"n":' .. n .. ',' .. string.sub(entry, 2))
  redis.call('LTRIM', log, 0, LOG_MAX - 1)
  local oldest_kept = log_time(entry) - LOG_AGE
  local tail = redis.call('LINDEX', log, -1)
  while tail and log_time(tail) <= oldest_kept do
    redis.call('RPOP', log)
    tail = redis.call('LINDEX', log, -1)
  end
  redis.call('EXPIRE', log, LOG_AGE)
end

-- Records in the history beside the account's session set `sessions` that one of its sessions
-- was ended as stolen at `now` (a spent refresh token came back): `Entry::new(
-- Activity::SessionEndedAsStolen, now)` as Rust writes it, built here so that a refresh passes
-- nothing for it.
local function record_stolen(sessions, now)
  record_event((string.gsub(sessions, ':sessions$', ':log')),
    '{"t":' .. now .. ',"e":"session_ended_as_stolen"}')
end

-- Whether the history `log` has earlier sign-ins and none from the device `seen` names (the
-- entry's `"a":…` member as JSON, or '' for a sign-in that said no device): what
-- `kernel::activity::new_device` decides in memory.
local function new_device(log, seen)
  local any = false
  for _, e in ipairs(redis.call('LRANGE', log, 0, -1)) do
    if string.find(e, '"e":"sign_in"', 1, true) then
      local same
      if seen == '' then
        same = not string.find(e, '"a":', 1, true)
      else
        same = string.find(e, seen .. ',', 1, true) or string.find(e, seen .. '}', 1, true)
      end
      if same then
        return false
      end
      any = true
    end
  end
  return any
end

-- `entry` (a history entry's JSON) with `text` as its detail ("d"), cut as `Entry::with_detail`
-- cuts it: to its first 64 bytes, between UTF-8 characters.
local function with_detail(entry, text)
  return string.sub(entry, 1, -2) .. ',"d":' .. cjson.encode(string.sub(text, 1, utf8_cut(text, 64))) .. '}'
end

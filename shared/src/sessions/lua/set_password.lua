-- Replaces the password hash, moves the password version on, and ends the account's sessions
-- but `keep` (a session id; '' ends all, '*' ends none) and, unless '*', its private-app
-- passports. The hash it replaces is kept for `previous_for` seconds (`pwprev`, `pwprev_until`):
-- a retried change whose first run was applied but not acknowledged still proves the old
-- password. A new hash is recorded in the history as `entry` (the same hash again is such a
-- retry). Returns 1, or 0 when there is no such account.
local account, sessions, log = unpack(KEYS)
local password_hash, keep, session_prefix, now, previous_for, entry = unpack(ARGV)
local old = long_get(account, 'pw')
if not old then
  return 0
end
if old ~= password_hash then
  long_set(account, 'pw', password_hash)
  long_set(account, 'pwprev', old)
  redis.call('HSET', account, 'pwprev_until', tonumber(now) + tonumber(previous_for))
  record_event(log, entry)
end
redis.call('HINCRBY', account, 'pwv', 1)
if keep ~= '*' then
  end_private_passports(sessions)
  local ids = redis.call('ZRANGE', sessions, 0, -1)
  for _, id in ipairs(ids) do
    if id ~= keep then
      redis.call('DEL', session_prefix .. id)
      redis.call('ZREM', sessions, id)
    end
  end
end
return 1

-- Moves an account from address `old` to `new` (verified), and every session's copy of it
-- (the authorizer hands the session's to the routes), and records the move in the history
-- (`entry`). Returns 1, or 0 if the account is gone or its address is neither `old` nor `new`.
-- Already at `new`, it is the store's retry of a move that ran (the answer was lost with a
-- dropped connection): 1 again, recorded once — a 0 would have the caller drop the new
-- address's index entry, leaving the account unreachable by either address. The index entries
-- are the caller's (other slots).
local account, sessions, log = unpack(KEYS)
local old, new, session_prefix, entry = unpack(ARGV)
local current = long_get(account, 'email')
if current == new then
  return 1
end
if current ~= old then
  return 0
end
long_set(account, 'email', new)
redis.call('HSET', account, 'ev', '1')
for _, id in ipairs(redis.call('ZRANGE', sessions, 0, -1)) do
  local s = session_prefix .. id
  if redis.call('EXISTS', s) == 1 then
    long_set(s, 'email', new)
    redis.call('HSET', s, 'ev', '1')
  end
end
record_event(log, entry)
return 1

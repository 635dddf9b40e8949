-- Moves an account from address `old` to `new` (verified), and every session's copy of it
-- (the authorizer hands the session's to the routes). Returns 1, or 0 if the account is gone
-- or its address is no longer `old`. The index entries are the caller's (other slots).
local account, sessions = unpack(KEYS)
local old, new, session_prefix = unpack(ARGV)
if redis.call('HGET', account, 'email') ~= old then
  return 0
end
redis.call('HSET', account, 'email', new, 'ev', '1')
for _, id in ipairs(redis.call('ZRANGE', sessions, 0, -1)) do
  local s = session_prefix .. id
  if redis.call('EXISTS', s) == 1 then
    redis.call('HSET', s, 'email', new, 'ev', '1')
  end
end
return 1

-- Replaces the password hash, moves the password version on, and ends the account's sessions
-- but `keep` (a session id; '' ends all, '*' ends none). Returns 1, or 0 when there is no such
-- account.
local account, sessions = unpack(KEYS)
local password_hash, keep, session_prefix = unpack(ARGV)
if redis.call('EXISTS', account) == 0 then
  return 0
end
redis.call('HSET', account, 'pw', password_hash)
redis.call('HINCRBY', account, 'pwv', 1)
if keep ~= '*' then
  local ids = redis.call('ZRANGE', sessions, 0, -1)
  for _, id in ipairs(ids) do
    if id ~= keep then
      redis.call('DEL', session_prefix .. id)
      redis.call('ZREM', sessions, id)
    end
  end
end
return 1

-- Marks an account's address verified if it is still `email`, and its sessions' copies (their
-- access tokens' `email_verified`). Returns 1 if it did.
local account, sessions = unpack(KEYS)
local email, session_prefix = unpack(ARGV)
if long_get(account, 'email') ~= email then
  return 0
end
redis.call('HSET', account, 'ev', '1')
for _, id in ipairs(redis.call('ZRANGE', sessions, 0, -1)) do
  local s = session_prefix .. id
  if redis.call('EXISTS', s) == 1 then
    redis.call('HSET', s, 'ev', '1')
  end
end
return 1

-- Sets the account's status; any status but 'active' ends every session. Returns 1, or 0 when
-- there is no such account.
local account, sessions = unpack(KEYS)
local status, session_prefix = unpack(ARGV)
if redis.call('EXISTS', account) == 0 then
  return 0
end
redis.call('HSET', account, 'status', status)
if status ~= 'active' then
  revoke_all(sessions, session_prefix)
end
return 1

-- Returns the account's email (to drop its index entry next), or false if there was none.
local account, sessions, passkeys, mfa, log = unpack(KEYS)
local session_prefix = unpack(ARGV)
local email = long_get(account, 'email')
if not email then
  return false
end
revoke_all(sessions, session_prefix)
redis.call('DEL', account, passkeys, mfa, log)
return email

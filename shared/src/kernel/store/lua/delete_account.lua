-- Returns the account's email (to drop its index entry next), or false if there was none.
local account, sessions, passkeys, mfa, log, identities = unpack(KEYS)
local session_prefix = unpack(ARGV)
local email = long_get(account, 'email')
if not email then
  return false
end
revoke_all(sessions, session_prefix)
-- A connected identity's index entry is left naming an account that is gone: the sign-in reads
-- it as no connection, and connecting the identity again takes it over.
redis.call('DEL', account, passkeys, mfa, log, identities)
return email

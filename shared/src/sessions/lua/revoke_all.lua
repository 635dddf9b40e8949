-- Ends every session of the account; returns how many.
local sessions = unpack(KEYS)
local session_prefix = unpack(ARGV)
return revoke_all(sessions, session_prefix)

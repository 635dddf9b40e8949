-- Ends every session of the account, recording `entry` in its history when there were any;
-- returns how many.
local sessions, log = unpack(KEYS)
local session_prefix, entry = unpack(ARGV)
local n = revoke_all(sessions, session_prefix)
if n > 0 then
  record_event(log, entry)
end
return n

-- Removes the authenticator and its recovery codes, and the account's mark of a second factor;
-- records the removal in the history (`entry`) when there was one. 1 if there was.
local account, mfa, log = unpack(KEYS)
local entry = unpack(ARGV)
local had = redis.call('HEXISTS', mfa, 'salt')
redis.call('DEL', mfa)
redis.call('HDEL', account, 'mfa')
if had == 1 then
  record_event(log, entry)
end
return had

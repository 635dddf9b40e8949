-- Drops the email's index entry only if it still names the account.
local email_index = unpack(KEYS)
local account_id = unpack(ARGV)
if redis.call('GET', email_index) == account_id then
  return redis.call('DEL', email_index)
end
return 0

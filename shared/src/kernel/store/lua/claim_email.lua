-- Claims the email's index entry for `account_id`: when it is free, or when it still names
-- `expected` (an entry whose account is gone, taken over compare-and-set). Returns the id the
-- entry names afterwards.
local email_index = unpack(KEYS)
local account_id, expected = unpack(ARGV)
local holder = redis.call('GET', email_index)
if not holder or (expected ~= '' and holder == expected) then
  redis.call('SET', email_index, account_id)
  return account_id
end
return holder

-- KEYS[1] email index entry; ARGV: account id. Drops the entry only if it still names the account.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0

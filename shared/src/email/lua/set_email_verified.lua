-- Marks an account's address verified if it is still `email`. Returns 1 if it did.
local account = unpack(KEYS)
local email = unpack(ARGV)
if redis.call('HGET', account, 'email') ~= email then
  return 0
end
redis.call('HSET', account, 'ev', '1')
return 1

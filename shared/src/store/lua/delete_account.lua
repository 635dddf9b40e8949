-- KEYS[1] account hash, KEYS[2] account's session set; ARGV: session key prefix
-- Returns the account's email (to drop its index entry next), or false if there was none.
local email = redis.call('HGET', KEYS[1], 'email')
if not email then
  return false
end
revoke_all(KEYS[2], ARGV[1])
redis.call('DEL', KEYS[1])
return email

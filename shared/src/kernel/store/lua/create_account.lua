-- Writes a new account's record, provisional (with a TTL) until its email is claimed.
-- Returns 1, or 0 if the id is taken (never, for a random id).
local account = unpack(KEYS)
local email, password_hash, status, created_at, verified, provisional_seconds = unpack(ARGV)
if redis.call('EXISTS', account) == 1 then
  return 0
end
redis.call('HSET', account, 'status', status, 'created', created_at, 'ev', verified)
long_set(account, 'email', email)
long_set(account, 'pw', password_hash)
redis.call('EXPIRE', account, provisional_seconds)
return 1

-- Writes a new app's record, provisional (with a TTL) until its code is claimed.
-- Returns 1, or 0 if the id is taken (never, for a random id).
local app = unpack(KEYS)
local code, name, access, passport_ttl, created_at, provisional_seconds = unpack(ARGV)
if redis.call('EXISTS', app) == 1 then
  return 0
end
redis.call('HSET', app, 'code', code, 'name', name, 'access', access, 'ttl', passport_ttl,
  'enabled', '1', 'created', created_at)
redis.call('EXPIRE', app, provisional_seconds)
return 1

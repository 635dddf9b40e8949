-- Enables ('1') or disables ('0') an app. Its passports' sessions share its hash tag, and the
-- authorizer reads this field with the session, so a disable takes effect at once.
-- Returns 1, or 0 if there is no such app.
local app = unpack(KEYS)
local enabled = unpack(ARGV)
if redis.call('EXISTS', app) == 0 then
  return 0
end
redis.call('HSET', app, 'enabled', enabled)
return 1

-- Deletes an app's record and its account-to-end-user map. Returns the app's code (to drop its
-- index entry next), or false if there was none. Its passport sessions are left to their TTL:
-- without the record the authorizer refuses them.
local app, users = unpack(KEYS)
local code = redis.call('HGET', app, 'code')
if not code then
  return false
end
redis.call('DEL', app, users)
return code

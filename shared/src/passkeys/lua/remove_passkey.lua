-- Removes a passkey unless it is the account's last way to sign in (no password, no other
-- passkey). Returns 'removed', 'missing' or 'last'.
local account, passkeys = unpack(KEYS)
local id = unpack(ARGV)
if redis.call('HEXISTS', passkeys, id) == 0 then
  return 'missing'
end
local pw = redis.call('HGET', account, 'pw')
if redis.call('HLEN', passkeys) == 1 and (not pw or pw == '') then
  return 'last'
end
redis.call('HDEL', passkeys, id)
return 'removed'

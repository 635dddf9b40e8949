-- Registers a passkey: 'added', or 'none' (no such account), 'exists' (this credential id is
-- already the account's) or 'full' (the account has `max` passkeys).
local account, passkeys = unpack(KEYS)
local id, record, max = unpack(ARGV)
if redis.call('EXISTS', account) == 0 then
  return 'none'
end
if redis.call('HEXISTS', passkeys, id) == 1 then
  return 'exists'
end
if redis.call('HLEN', passkeys) >= tonumber(max) then
  return 'full'
end
redis.call('HSET', passkeys, id, record)
return 'added'

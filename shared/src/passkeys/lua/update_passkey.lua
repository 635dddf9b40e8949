-- Replaces a registered passkey's record (counter, flags, last use). Returns 1, or 0 when it
-- was removed meanwhile.
local passkeys = unpack(KEYS)
local id, record = unpack(ARGV)
if redis.call('HEXISTS', passkeys, id) == 0 then
  return 0
end
redis.call('HSET', passkeys, id, record)
return 1

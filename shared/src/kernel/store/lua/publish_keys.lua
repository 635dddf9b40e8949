-- Publishes the signers' public key document, made from the key version created at `created`
-- (Unix ms), unless the one there comes from a newer version: two signers that loaded the
-- secret around a rotation cannot put the older keys back. 1 when the document stands, 0 if not.
local keys = unpack(KEYS)
local created, document = unpack(ARGV)
local stored = tonumber(redis.call('HGET', keys, 'created') or '-1')
if stored > tonumber(created) then
  return 0
end
redis.call('HSET', keys, 'created', created, 'document', document)
return 1

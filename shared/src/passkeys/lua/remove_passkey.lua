-- Removes a passkey unless it is the account's last way to sign in (no password, no other
-- passkey, no connected identity provider), recording it in the history (`entry`, with the passkey's name). Returns 'removed',
-- 'missing' or 'last'.
local account, passkeys, log, identities = unpack(KEYS)
local id, entry = unpack(ARGV)
if redis.call('HEXISTS', passkeys, id) == 0 then
  return 'missing'
end
if last_way_in(account, passkeys, identities) then
  return 'last'
end
local ok, kept = pcall(cjson.decode, redis.call('HGET', passkeys, id))
redis.call('HDEL', passkeys, id)
if ok and type(kept) == 'table' and type(kept.name) == 'string' then
  entry = with_detail(entry, kept.name)
end
record_event(log, entry)
return 'removed'

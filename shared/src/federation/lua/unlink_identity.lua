-- Disconnects an account's identity of one provider unless it is the account's last way to sign
-- in (no password, no passkey, no other provider), ends every session that provider signed in
-- (`idp`), and records it in the history (`entry`). Returns the removed identity's record, or
-- 'missing' or 'last'.
local account, identities, passkeys, sessions, log = unpack(KEYS)
local provider, prefix, entry = unpack(ARGV)
local kept = redis.call('HGET', identities, provider)
if not kept then
  return 'missing'
end
if last_way_in(account, passkeys, identities) then
  return 'last'
end
redis.call('HDEL', identities, provider)
for _, sid in ipairs(redis.call('ZRANGE', sessions, 0, -1)) do
  if redis.call('HGET', prefix .. sid, 'idp') == provider then
    redis.call('DEL', prefix .. sid)
    redis.call('ZREM', sessions, sid)
  end
end
record_event(log, entry)
return kept

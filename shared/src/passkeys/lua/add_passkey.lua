-- Registers a passkey: 'added', or 'none' (no such account), 'reauthenticate' (the session
-- holds no unspent reauthentication made since `not_before`, or has ended), 'exists' (this
-- credential id is already the account's) or 'full' (the account has `max` passkeys). Adding
-- spends the session's reauthentication (`sup`) and is recorded in the history (`entry`).
local account, passkeys, session, log = unpack(KEYS)
local id, record, max, not_before, entry = unpack(ARGV)
if redis.call('EXISTS', account) == 0 then
  return 'none'
end
local sup = redis.call('HGET', session, 'sup')
if not sup or tonumber(sup) < tonumber(not_before) then
  return 'reauthenticate'
end
if redis.call('HEXISTS', passkeys, id) == 1 then
  return 'exists'
end
if redis.call('HLEN', passkeys) >= tonumber(max) then
  return 'full'
end
redis.call('HSET', passkeys, id, record)
redis.call('HDEL', session, 'sup')
record_event(log, entry)
return 'added'

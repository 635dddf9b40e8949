-- Connects an identity provider's identity to an account whose index entry this request has
-- claimed: the account must exist and have no other identity of that provider. Records the
-- connection in the history (`entry`). Returns 'linked', 'taken' or 'missing'.
local account, identities, log = unpack(KEYS)
local provider, record, sub_key, entry = unpack(ARGV)
if redis.call('EXISTS', account) == 0 then
  return 'missing'
end
local kept = redis.call('HGET', identities, provider)
if kept then
  local ok, old = pcall(cjson.decode, kept)
  -- The same identity again (a retried request): already done, recorded once.
  if ok and type(old) == 'table' and (old.iss .. '\0' .. old.sub) == sub_key then
    return 'linked'
  end
  return 'taken'
end
redis.call('HSET', identities, provider, record)
record_event(log, entry)
return 'linked'

-- Spends the recovery code whose digest is `digest`, every kept digest compared (in constant
-- time) whichever matches, and records the spending in the history (`entry`); the codes left,
-- or false when none matched.
local mfa, log = unpack(KEYS)
local digest, entry = unpack(ARGV)
local found = false
local left = 0
for i = 1, 10 do
  local d = redis.call('HGET', mfa, 'r' .. i)
  if d then
    left = left + 1
    if ct_eq(d, digest) then
      found = 'r' .. i
    end
  end
end
if not found then
  return false
end
redis.call('HDEL', mfa, found)
record_event(log, entry)
return left - 1

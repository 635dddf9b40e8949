-- Spends the recovery code whose digest is `digest`, every kept digest compared (in constant
-- time) whichever matches; the codes left, or false when none matched.
local mfa = unpack(KEYS)
local digest = unpack(ARGV)
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
return left - 1

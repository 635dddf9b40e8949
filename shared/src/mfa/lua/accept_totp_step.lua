-- Takes a code's step for the confirmed salt: only a step later than every one taken before
-- (RFC 6238 section 5.2: a code is accepted once).
local mfa = unpack(KEYS)
local salt, step = unpack(ARGV)
local kept = redis.call('HMGET', mfa, 'salt', 'step')
if kept[1] ~= salt or tonumber(step) <= tonumber(kept[2] or '0') then
  return 0
end
redis.call('HSET', mfa, 'step', step)
return 1

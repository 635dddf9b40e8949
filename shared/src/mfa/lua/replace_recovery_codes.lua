-- Replaces the recovery codes (`codes`: hex digests separated by spaces) of an account with a
-- confirmed authenticator: the old set is void. 0 without one.
local mfa = unpack(KEYS)
local codes = unpack(ARGV)
if redis.call('HEXISTS', mfa, 'salt') == 0 then
  return 0
end
for i = 1, 10 do
  redis.call('HDEL', mfa, 'r' .. i)
end
local i = 0
for d in string.gmatch(codes, '%x+') do
  i = i + 1
  redis.call('HSET', mfa, 'r' .. i, d)
end
return 1

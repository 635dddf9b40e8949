-- Confirms the pending salt with its first code's step, keeps the recovery codes' digests
-- (`codes`: ten hex digests separated by spaces) and marks the account as having a second
-- factor, and records it in the history (`entry`), all in one step. 0 when the salt is no
-- longer pending or one is confirmed already.
local account, mfa, log = unpack(KEYS)
local salt, step, now, codes, entry = unpack(ARGV)
if redis.call('EXISTS', account) == 0 then
  return 0
end
local kept = redis.call('HMGET', mfa, 'salt', 'pend', 'pend_until')
if kept[1] or kept[2] ~= salt or tonumber(kept[3] or '0') <= tonumber(now) then
  return 0
end
redis.call('DEL', mfa)
redis.call('HSET', mfa, 'salt', salt, 'since', now, 'step', step)
local i = 0
for d in string.gmatch(codes, '%x+') do
  i = i + 1
  redis.call('HSET', mfa, 'r' .. i, d)
end
redis.call('HSET', account, 'mfa', '1')
record_event(log, entry)
return 1

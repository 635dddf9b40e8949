-- Records a private app's passport session under its account (`pp:{<account>}:passports`,
-- member `<app>:<session>`, score: when the session's record ends, plus a thousandth per
-- recording in that index (`sequence`) so that the oldest of one second are told apart), so
-- that every revocation of the account's sessions ends its passports in the same script.
-- Renews `renew` when it is still recorded; else records `session` and ends the oldest of
-- this app's beyond `cap`. Returns 'renew' or 'new'.
local passports, sequence = unpack(KEYS)
local app, renew, session, keep_until, cap, now = unpack(ARGV)
redis.call('ZREMRANGEBYSCORE', passports, '-inf', now)
local score = tonumber(keep_until) + (redis.call('INCR', sequence) % 1000) / 1000
redis.call('EXPIREAT', sequence, keep_until)
local outcome
if renew ~= '' and redis.call('ZSCORE', passports, app .. ':' .. renew) then
  redis.call('ZADD', passports, score, app .. ':' .. renew)
  outcome = 'renew'
else
  local new = app .. ':' .. session
  redis.call('ZADD', passports, score, new)
  local prefix = app .. ':'
  local mine = {}
  for _, m in ipairs(redis.call('ZRANGE', passports, 0, -1)) do
    if m ~= new and string.sub(m, 1, #prefix) == prefix then
      table.insert(mine, m)
    end
  end
  -- Oldest first (lowest score); the new one always stays.
  for i = 1, #mine - (tonumber(cap) - 1) do
    redis.call('ZREM', passports, mine[i])
  end
  outcome = 'new'
end
local last = redis.call('ZRANGE', passports, -1, -1, 'WITHSCORES')
if last[2] then
  redis.call('EXPIREAT', passports, math.ceil(tonumber(last[2])))
end
return outcome

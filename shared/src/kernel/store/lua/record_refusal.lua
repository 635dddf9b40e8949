-- Records a refused or locked sign-in (`entry`) in the history of `account`, if it exists. One
-- after another of the same kind make one entry, counted ("c") and updated to the latest time
-- and address: a flood of wrong passwords cannot push the account's other events out of its
-- history. Returns 1 if recorded.
local account, log = unpack(KEYS)
local entry = unpack(ARGV)
if redis.call('EXISTS', account) == 0 then
  return 0
end
local kind = string.match(entry, '"e":"([a-z_]+)"')
local newest = redis.call('LINDEX', log, 0)
if newest and kind and string.find(newest, '"e":"' .. kind .. '"', 1, true) then
  local n = string.match(newest, '^{"n":(%d+),')
  local c = tonumber(string.match(newest, ',"c":(%d+)}$')) or 1
  redis.call('LSET', log, 0, '{"n":' .. n .. ',' .. string.sub(entry, 2, -2) .. ',"c":' .. (c + 1) .. '}')
  redis.call('EXPIRE', log, LOG_AGE)
  return 1
end
record_event(log, entry)
return 1

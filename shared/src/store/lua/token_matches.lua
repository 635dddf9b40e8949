-- KEYS[1] session hash; ARGV: digest, now
local s = redis.call('HMGET', KEYS[1], 'cur', 'prev', 'exp')
if not s[1] or tonumber(s[3]) <= tonumber(ARGV[2]) then
  return 0
end
local current = ct_eq(s[1], ARGV[1])
local previous = ct_eq(s[2], ARGV[1])
if current or previous then
  return 1
end
return 0

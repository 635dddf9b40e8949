-- Returns 1 when the digest is the live session's current or previous token's, else 0.
local session = unpack(KEYS)
local digest, now = unpack(ARGV)
local s = redis.call('HMGET', session, 'cur', 'prev', 'exp')
if not s[1] or tonumber(s[3]) <= tonumber(now) then
  return 0
end
local current = ct_eq(s[1], digest)
local previous = ct_eq(s[2], digest)
if current or previous then
  return 1
end
return 0

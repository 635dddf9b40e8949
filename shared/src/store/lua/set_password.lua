-- Returns 1, or 0 when there is no such account.
local account = unpack(KEYS)
local password_hash = unpack(ARGV)
if redis.call('EXISTS', account) == 0 then
  return 0
end
redis.call('HSET', account, 'pw', password_hash)
return 1

-- Drops a directory index entry (an email's, an app code's) only if it still names `id`.
local index = unpack(KEYS)
local id = unpack(ARGV)
if redis.call('GET', index) == id then
  return redis.call('DEL', index)
end
return 0

-- Claims a directory index entry (an email's, an app code's) for `id`: when it is free, or
-- when it still names `expected` (an entry whose record is gone, taken over compare-and-set).
-- Returns the id the entry names afterwards.
local index = unpack(KEYS)
local id, expected = unpack(ARGV)
local holder = redis.call('GET', index)
if not holder or (expected ~= '' and holder == expected) then
  redis.call('SET', index, id)
  return id
end
return holder

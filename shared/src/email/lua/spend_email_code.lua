-- Ends an address's sign-in code if it is still the one of `digest`. Returns 1 if it did.
local code = unpack(KEYS)
local digest = unpack(ARGV)
if ct_eq(redis.call('HGET', code, 'd'), digest) then
  redis.call('DEL', code)
  return 1
end
return 0

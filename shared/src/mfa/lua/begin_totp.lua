-- Keeps a salt pending while an authenticator is set up, unless one is confirmed already.
local account, mfa = unpack(KEYS)
local salt, pending_until = unpack(ARGV)
if redis.call('EXISTS', account) == 0 then
  return 'no_account'
end
if redis.call('HEXISTS', mfa, 'salt') == 1 then
  return 'exists'
end
redis.call('HSET', mfa, 'pend', salt, 'pend_until', pending_until)
return 'pending'

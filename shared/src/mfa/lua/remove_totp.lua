-- Removes the authenticator and its recovery codes, and the account's mark of a second factor.
local account, mfa = unpack(KEYS)
local had = redis.call('HEXISTS', mfa, 'salt')
redis.call('DEL', mfa)
redis.call('HDEL', account, 'mfa')
return had

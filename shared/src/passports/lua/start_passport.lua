-- Renews or starts a visitor's passport session on the app's slot. Refuses when the app is
-- missing or disabled. Renews `old_session` when it exists and belongs to the same account (or
-- to none, for both); else, with create = '1', starts `new_session` for the account's end user
-- in this app (made once, then always the same) or for `end_user` when there is no account.
-- Returns {'renewed'|'started', end user}, {'gone'} or {'app_off'}.
local app, users, old_session, new_session = unpack(KEYS)
local account, end_user, create, expires_at, keep_until = unpack(ARGV)
if redis.call('HGET', app, 'enabled') ~= '1' then
  return {'app_off'}
end
if old_session ~= new_session then
  local s = redis.call('HMGET', old_session, 'eu', 'acct')
  if s[1] and s[2] == account then
    redis.call('HSET', old_session, 'exp', expires_at)
    redis.call('EXPIREAT', old_session, keep_until)
    return {'renewed', s[1]}
  end
end
if create ~= '1' then
  return {'gone'}
end
local eu = end_user
if account ~= '' then
  redis.call('HSETNX', users, account, end_user)
  eu = redis.call('HGET', users, account)
end
redis.call('HSET', new_session, 'eu', eu, 'acct', account, 'exp', expires_at)
redis.call('EXPIREAT', new_session, keep_until)
return {'started', eu}

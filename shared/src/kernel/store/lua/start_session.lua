-- Starts a session if the account is active and its password version is the one checked;
-- beyond the cap, ends the sessions that expire first (the least recently used), never the new
-- one. The session keeps the account's email, for the authorizer to hand to the routes behind it.
-- The session also keeps how and when it authenticated (`at`, `amr`) and what the server made of
-- its user agent (`agent`), or the start of that header when it made nothing of it (`ua`).
-- The sign-in is recorded in the account's history (`entry`); `seen` names its device there.
-- A federated sign-in's session keeps its provider (`idp`), whose unlinking ends it.
-- Returns 'started' ('started_new' from a device the history has not seen sign in), 'missing',
-- 'stale' or the status.
local account, session, sessions, log = unpack(KEYS)
local sid, digest, family_digest, device, user_agent, ip, now, expires_at, absolute_expires_at, password_version, max_sessions, auth_time, amr, agent, entry, seen, via = unpack(ARGV)
local a = redis.call('HMGET', account, 'status', 'pwv', 'ev')
if not a[1] then
  return 'missing'
end
if a[1] ~= 'active' then
  return a[1]
end
if (a[2] or '0') ~= password_version then
  return 'stale'
end
-- The store's retry after a dropped connection finds the session already started: recorded once.
local again = redis.call('EXISTS', session) == 1
redis.call('HSET', session, 'cur', digest, 'fam', family_digest, 'ip', ip, 'created', now,
  'exp', expires_at, 'abs', absolute_expires_at)
-- A field whose value its readers assume when it is missing is not written, and the record
-- stays a size class smaller (docs/scale.md): `at` when the session authenticated as it started
-- (`created`), `amr` for a password alone (`Authentication::from_stored`), `ev` for a verified
-- address; and `last` is never written (the last use is the last rotation, `rot`, else
-- `created`: list_sessions.lua).
if auth_time ~= now then
  redis.call('HSET', session, 'at', auth_time)
end
if amr ~= 'pwd' then
  redis.call('HSET', session, 'amr', amr)
end
if a[3] == '0' then
  redis.call('HSET', session, 'ev', '0')
end
-- No device name, no field: the listing reads a missing one as none, and the record stays a
-- size class smaller (docs/scale.md).
if device ~= '' then
  long_set(session, 'dev', device)
end
-- The same for the browser's name and the raw user agent: a session keeps the one or the
-- other (the header only when the server could not name the browser from it).
if agent ~= '' then
  redis.call('HSET', session, 'agent', agent)
end
if user_agent ~= '' then
  redis.call('HSET', session, 'ua', user_agent)
end
if via ~= '' then
  redis.call('HSET', session, 'idp', via)
end
long_set(session, 'email', long_get(account, 'email') or '')
redis.call('EXPIREAT', session, expires_at)
track(sessions, sid, tonumber(now), tonumber(expires_at))
local over = redis.call('ZCARD', sessions) - tonumber(max_sessions)
if over > 0 then
  local prefix = string.sub(session, 1, #session - #sid)
  local oldest = redis.call('ZRANGE', sessions, 0, over)
  for _, id in ipairs(oldest) do
    if over > 0 and id ~= sid then
      redis.call('DEL', prefix .. id)
      redis.call('ZREM', sessions, id)
      over = over - 1
    end
  end
end
if again then
  return 'started'
end
local new = new_device(log, seen)
record_event(log, entry)
if new then
  return 'started_new'
end
return 'started'

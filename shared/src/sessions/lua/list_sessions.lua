-- Returns flat 10-tuples: id, device, user agent, ip, created, last used, expires, agent,
-- authenticated at, authentication methods.
local sessions = unpack(KEYS)
local now, session_prefix = unpack(ARGV)
redis.call('ZREMRANGEBYSCORE', sessions, '-inf', now)
local ids = redis.call('ZRANGE', sessions, 0, -1)
local out = {}
for _, id in ipairs(ids) do
  local h = redis.call('HMGET', session_prefix .. id, 'dev', 'ua', 'ip', 'created', 'last', 'exp',
    'agent', 'at', 'amr', 'rot')
  if h[1] then
    h[1] = long_get(session_prefix .. id, 'dev')
  end
  -- Last used: its last rotation, else its start (a session started before `last` was left out
  -- has it, equal to one of them until its next rotation).
  h[5] = h[10] or h[5] or h[4]
  if h[6] and tonumber(h[6]) > tonumber(now) then
    table.insert(out, id)
    for i = 1, 9 do
      table.insert(out, h[i] or '')
    end
  else
    redis.call('ZREM', sessions, id)
  end
end
return out

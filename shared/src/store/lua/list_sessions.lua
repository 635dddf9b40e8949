-- KEYS[1] account's session set; ARGV: now, session key prefix
-- Returns flat 7-tuples: id, device, user agent, ip, created, last used, expires.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local out = {}
for _, id in ipairs(ids) do
  local h = redis.call('HMGET', ARGV[2] .. id, 'dev', 'ua', 'ip', 'created', 'last', 'exp')
  if h[6] and tonumber(h[6]) > tonumber(ARGV[1]) then
    table.insert(out, id)
    for i = 1, 6 do
      table.insert(out, h[i] or '')
    end
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out

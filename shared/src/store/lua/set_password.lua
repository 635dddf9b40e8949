-- KEYS[1] account hash; ARGV: password hash
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], 'pw', ARGV[1])
return 1

-- KEYS[1] account hash, KEYS[2] account's session set; ARGV: status, session key prefix
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], 'status', ARGV[1])
if ARGV[1] ~= 'active' then
  revoke_all(KEYS[2], ARGV[2])
end
return 1

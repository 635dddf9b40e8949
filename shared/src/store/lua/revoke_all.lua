-- KEYS[1] account's session set; ARGV: session key prefix
return revoke_all(KEYS[1], ARGV[1])

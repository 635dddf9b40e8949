-- Spends the presented refresh token for its successor. Returns {'rotated', exp, at, amr,
-- created, ev}, {'replayed', exp, at, amr, created, ev} (the session's authentication and its
-- address's verification ride along: the new access token carries them) (the just-spent token within the grace window, or the store retrying the
-- request that rotated), {'reused'} (a spent token of the session's family: the session is
-- ended), {'invalid'} or {'unbound'} (a token of the family, but the session is bound to a
-- device key and the request did not show its live bound cookie: nothing is spent or ended).
-- `device` is '1' when binding is required; `by_cookie` '1' when the answer goes by cookie;
-- `bound_digest` the digest of the bound cookie the request carried, or ''. The refresh token's
-- digests come in every form a live session may keep (`TokenDigest::stored_forms`: the stored
-- one, the whole digest and the hex one of sessions started earlier; read, never written: a
-- rotation writes the stored form).
local session, sessions = unpack(KEYS)
local sid, presented_digest, presented_whole_digest, presented_legacy_digest, successor_digest, successor_whole_digest, family_digest, family_whole_digest, family_legacy_digest, request_id, now, idle_ttl, grace, device, by_cookie, bound_digest, deadline_ms = unpack(ARGV)
local function presented(kept)
  return ct_eq(kept, presented_digest) or ct_eq(kept, presented_whole_digest)
    or ct_eq(kept, presented_legacy_digest)
end
local function of_family(kept)
  return ct_eq(kept, family_digest) or ct_eq(kept, family_whole_digest)
    or ct_eq(kept, family_legacy_digest)
end
-- A rotation that reaches Redis after its caller stopped waiting (queued behind a stalled
-- connection during a failover: the client was answered 503 and retries with the same token)
-- does nothing: run late, it would find that token spent by the retry and end the session as
-- stolen. `deadline_ms` is the caller's; Redis's clock (`TIME`) judges it.
local clock = redis.call('TIME')
if tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000) > tonumber(deadline_ms) then
  return {'late'}
end
local s = redis.call('HMGET', session, 'cur', 'prev', 'rot', 'exp', 'abs', 'fam', 'rid', 'at', 'amr',
  'created', 'dbk', 'dbc', 'dbce', 'dbp', 'dbpe', 'ev')
now = tonumber(now)
if not s[1] or tonumber(s[4]) <= now then
  return {'invalid'}
end
-- A bound cookie counts until its own expiry: the one in force, or the one the last renewal
-- replaced.
local function live_cookie(kept, expires_at)
  return kept ~= nil and kept ~= false and kept ~= '' and ct_eq(kept, bound_digest)
    and tonumber(expires_at or 0) > now
end
local device_shown = device ~= '1' or not s[11] or s[11] == ''
  or (by_cookie == '1' and (live_cookie(s[12], s[13]) or live_cookie(s[14], s[15])))
local current = presented(s[1])
local previous = not current and presented(s[2])
if not (current or previous or of_family(s[6])) then
  return {'invalid'}
end
-- A token of the session's family from a request that does not show the bound session's
-- device: refused before anything else, so nothing is spent and nothing ends (a copy of the
-- cookie jar cannot even end the session it cannot use).
if not device_shown then
  return {'unbound'}
end
if current then
  local exp = math.min(now + tonumber(idle_ttl), tonumber(s[5]))
  redis.call('HSET', session, 'cur', successor_digest, 'prev', presented_digest, 'rot', now,
    'exp', exp, 'rid', request_id)
  redis.call('EXPIREAT', session, exp)
  track(sessions, sid, now, exp)
  return {'rotated', exp, s[8], s[9], s[10], s[16]}
end
if previous then
  -- (The whole form: the rotation that ran may have run before the stored form was shortened.)
  local same_successor = ct_eq(s[1], successor_digest) or ct_eq(s[1], successor_whole_digest)
  -- The store's own retry of the rotation that ran, or a replay within the grace.
  local retry = same_successor and s[7] == request_id
  grace = tonumber(grace)
  local in_grace = grace > 0 and now - tonumber(s[3]) <= grace
  if retry or (in_grace and same_successor) then
    return {'replayed', tonumber(s[4]), s[8], s[9], s[10], s[16]}
  end
  if in_grace then
    return {'invalid'}
  end
end
-- A spent token of the family: theft. The session ends.
redis.call('DEL', session)
redis.call('ZREM', sessions, sid)
record_stolen(sessions, now)
return {'reused'}

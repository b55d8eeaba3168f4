-- Issue a coupon once per idempotency key. KEYS[1]: the coupons key prefix ({coupons} tag).
-- ARGV: idempotency key, code, learner id, course id, pool, source ("campaign|step|variant" or ""),
-- now ms, one-live-coupon guard ("1" on), expires ms, then field/value pairs of the coupon hash.
-- Returns {1, code} when issued now, {0, code} when this key already had a coupon, {-1, ""} when the
-- freshly drawn code collides with an existing one (the caller draws again), {-2, code} when the guard is on
-- and the learner still holds the live coupon `code` for this course.
local p = KEYS[1]
local issued_key = p .. 'issued:' .. ARGV[1]
local existing = redis.call('GET', issued_key)
if existing then return {0, existing} end
local live_key = p .. 'live:' .. ARGV[4] .. ':' .. ARGV[3]
local live = redis.call('GET', live_key)
if ARGV[8] == '1' and live then
  local c = p .. 'code:' .. live
  local status = redis.call('HGET', c, 'status')
  local expires = tonumber(redis.call('HGET', c, 'expires_ms') or '0')
  if status == 'issued' and expires > tonumber(ARGV[7]) then return {-2, live} end
end
local code_key = p .. 'code:' .. ARGV[2]
if redis.call('EXISTS', code_key) == 1 then return {-1, ''} end
redis.call('SET', issued_key, ARGV[2])
local fields = {}
for i = 10, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', code_key, unpack(fields))
redis.call('HSET', code_key, 'source', ARGV[6], 'uses', 0)
redis.call('SADD', p .. 'learner:' .. ARGV[3], ARGV[2])
redis.call('SADD', p .. 'pool:' .. ARGV[5], ARGV[2])
redis.call('ZADD', p .. 'expiry:' .. ARGV[4], ARGV[9], ARGV[2] .. '|' .. ARGV[3])
redis.call('SET', live_key, ARGV[2])
redis.call('HINCRBY', p .. 'stats:' .. ARGV[4], 'issued', 1)
if ARGV[6] ~= '' then redis.call('HINCRBY', p .. 'source-stats', ARGV[6] .. '|issued', 1) end
-- Coupons per learner of the course, so that scoring reads a million learners' coupon history at once.
redis.call('HINCRBY', p .. 'issued-to:' .. ARGV[4], ARGV[3], 1)
return {1, ARGV[2]}

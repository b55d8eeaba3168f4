-- Issue a coupon once per idempotency key. KEYS[1]: the coupons key prefix ({coupons} tag).
-- ARGV: idempotency key, code, learner id, course id, then field/value pairs of the coupon hash.
-- Returns {1, code} when issued now, {0, code} when this key already had a coupon, {-1, ""} when the
-- freshly drawn code collides with an existing one (the caller draws again).
local p = KEYS[1]
local issued_key = p .. 'issued:' .. ARGV[1]
local existing = redis.call('GET', issued_key)
if existing then return {0, existing} end
local code_key = p .. 'code:' .. ARGV[2]
if redis.call('EXISTS', code_key) == 1 then return {-1, ''} end
redis.call('SET', issued_key, ARGV[2])
local fields = {}
for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', code_key, unpack(fields))
redis.call('SADD', p .. 'learner:' .. ARGV[3], ARGV[2])
redis.call('HINCRBY', p .. 'stats:' .. ARGV[4], 'issued', 1)
return {1, ARGV[2]}

-- Redeem a coupon atomically. KEYS[1]: the coupons key prefix.
-- ARGV: code, order id, now (ms), order total before the discount ("" when unknown), minimum order,
-- redemptions allowed per code, redemptions allowed in the whole pool (0: no limit).
-- Returns "ok", or why not: "unknown", "used", "revoked", "expired", "below the minimum order",
-- "pool exhausted". Redeeming again with the same order id answers "ok" again (a retried webhook is not an
-- error) without counting twice.
local p = KEYS[1]
local key = p .. 'code:' .. ARGV[1]
local status = redis.call('HGET', key, 'status')
if not status then return 'unknown' end
if redis.call('SISMEMBER', key .. ':orders', ARGV[2]) == 1 then return 'ok' end
if status == 'redeemed' then return 'used' end
if status == 'revoked' then return 'revoked' end
if tonumber(redis.call('HGET', key, 'expires_ms')) <= tonumber(ARGV[3]) then return 'expired' end
if ARGV[4] ~= '' and tonumber(ARGV[4]) < tonumber(ARGV[5]) then return 'below the minimum order' end
local pool = redis.call('HGET', key, 'pool')
local pool_used = p .. 'pool-redeemed:' .. pool
if tonumber(ARGV[7]) > 0 and tonumber(redis.call('GET', pool_used) or '0') >= tonumber(ARGV[7]) then
  return 'pool exhausted'
end
redis.call('SADD', key .. ':orders', ARGV[2])
redis.call('INCR', pool_used)
local uses = redis.call('HINCRBY', key, 'uses', 1)
redis.call('HSET', key, 'redeemed_ms', ARGV[3], 'order_id', ARGV[2])
if uses >= tonumber(ARGV[6]) then
  redis.call('HSET', key, 'status', 'redeemed')
  local live_key = p .. 'live:' .. redis.call('HGET', key, 'course_id') .. ':' .. redis.call('HGET', key, 'learner_id')
  if redis.call('GET', live_key) == ARGV[1] then redis.call('DEL', live_key) end
end
redis.call('HINCRBY', p .. 'stats:' .. redis.call('HGET', key, 'course_id'), 'redeemed', 1)
local source = redis.call('HGET', key, 'source')
if source and source ~= '' then redis.call('HINCRBY', p .. 'source-stats', source .. '|redeemed', 1) end
return 'ok'

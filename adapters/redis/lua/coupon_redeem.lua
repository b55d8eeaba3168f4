-- Redeem a coupon atomically. KEYS[1]: the coupons key prefix. ARGV: code, order id, now (ms).
-- Returns "ok", or why not: "unknown", "used", "revoked", "expired". Redeeming again with the same
-- order id answers "ok" again (a retried webhook is not an error) without counting twice.
local p = KEYS[1]
local key = p .. 'code:' .. ARGV[1]
local status = redis.call('HGET', key, 'status')
if not status then return 'unknown' end
if status == 'redeemed' then
  if redis.call('HGET', key, 'order_id') == ARGV[2] then return 'ok' end
  return 'used'
end
if status == 'revoked' then return 'revoked' end
if tonumber(redis.call('HGET', key, 'expires_ms')) <= tonumber(ARGV[3]) then return 'expired' end
redis.call('HSET', key, 'status', 'redeemed', 'redeemed_ms', ARGV[3], 'order_id', ARGV[2])
redis.call('HINCRBY', p .. 'stats:' .. redis.call('HGET', key, 'course_id'), 'redeemed', 1)
return 'ok'

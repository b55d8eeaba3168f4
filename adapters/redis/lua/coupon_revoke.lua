-- Revoke coupons that are still issued. KEYS[1]: the coupons key prefix. ARGV: codes.
-- Redeemed, expired-and-recorded or already revoked codes are left alone. Returns how many were revoked.
local p = KEYS[1]
local revoked = 0
for i = 1, #ARGV do
  local key = p .. 'code:' .. ARGV[i]
  if redis.call('HGET', key, 'status') == 'issued' then
    redis.call('HSET', key, 'status', 'revoked')
    local course = redis.call('HGET', key, 'course_id')
    local live_key = p .. 'live:' .. course .. ':' .. redis.call('HGET', key, 'learner_id')
    if redis.call('GET', live_key) == ARGV[i] then redis.call('DEL', live_key) end
    redis.call('HINCRBY', p .. 'stats:' .. course, 'revoked', 1)
    revoked = revoked + 1
  end
end
return revoked

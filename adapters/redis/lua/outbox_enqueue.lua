-- Enqueue messages, each at most once per idempotency key. KEYS[1]: the outbox key prefix ({outbox} tag).
-- ARGV: now ms, then pairs of (idempotency key, message json). Returns how many were new.
local p = KEYS[1]
local added = 0
for i = 2, #ARGV, 2 do
  local key, body = ARGV[i], ARGV[i + 1]
  if redis.call('SET', p .. 'idem:' .. key, ARGV[1], 'NX') then
    redis.call('XADD', p .. 'stream', '*', 'm', body)
    redis.call('HSET', p .. 'state:' .. key, 'status', 'queued', 'attempts', 0, 'updated_ms', ARGV[1])
    added = added + 1
  end
end
return added

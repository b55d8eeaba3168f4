-- Enqueue messages, each at most once per idempotency key. KEYS[1]: the outbox key prefix ({outbox} tag).
-- ARGV: now ms, then triples of (idempotency key, message json, due ms or ""). A message due later waits
-- in the deferred set until then. Returns how many were new.
local p = KEYS[1]
local now = tonumber(ARGV[1])
local added = 0
for i = 2, #ARGV, 3 do
  local key, body, due = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if redis.call('SET', p .. 'idem:' .. key, ARGV[1], 'NX') then
    if due ~= '' and tonumber(due) > now then
      redis.call('ZADD', p .. 'deferred', due, body)
    else
      redis.call('XADD', p .. 'stream', '*', 'm', body)
    end
    redis.call('HSET', p .. 'state:' .. key, 'status', 'queued', 'attempts', 0, 'updated_ms', ARGV[1])
    added = added + 1
  end
end
return added

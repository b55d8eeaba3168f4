-- Move deferred messages that are due back into the stream. KEYS[1]: outbox prefix. ARGV: now ms, limit.
local p = KEYS[1]
local due = redis.call('ZRANGEBYSCORE', p .. 'deferred', '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, body in ipairs(due) do
  redis.call('XADD', p .. 'stream', '*', 'm', body)
  redis.call('ZREM', p .. 'deferred', body)
end
return #due

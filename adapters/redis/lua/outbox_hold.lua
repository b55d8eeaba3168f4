-- Hold a message back until `due` (quiet hours, a live class): it leaves the stream and waits in the
-- deferred set. KEYS[1]: outbox prefix. ARGV: idempotency key, entry id, body json, due ms, now ms, reason,
-- stats field prefix ("campaign|step"), variant stats prefix ("campaign|step|variant").
-- Each (message, reason) is counted once in the stats, however often the message is held again.
local p = KEYS[1]
local state = p .. 'state:' .. ARGV[1]
redis.call('HSET', state, 'status', 'held', 'reason', ARGV[6], 'updated_ms', ARGV[5])
if redis.call('HSETNX', state, 'held:' .. ARGV[6], ARGV[5]) == 1 then
  redis.call('HINCRBY', p .. 'stats', ARGV[7] .. '|held: ' .. ARGV[6], 1)
  redis.call('HINCRBY', p .. 'vstats', ARGV[8] .. '|held: ' .. ARGV[6], 1)
end
redis.call('ZADD', p .. 'deferred', ARGV[4], ARGV[3])
redis.call('XACK', p .. 'stream', 'dispatch', ARGV[2])
redis.call('XDEL', p .. 'stream', ARGV[2])
return 1

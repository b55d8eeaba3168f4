-- Claim a message for sending. KEYS[1]: outbox prefix. ARGV: idempotency key, consumer, now ms.
-- "ok": send it now. "done": already finished (delivered, suppressed, dead...): do not send.
-- "unknown": a previous attempt died while sending, so it may have gone out: never send it again.
local state = KEYS[1] .. 'state:' .. ARGV[1]
local status = redis.call('HGET', state, 'status')
if status == 'sending' then return 'unknown' end
if status and status ~= 'queued' and status ~= 'retry' then return 'done' end
redis.call('HSET', state, 'status', 'sending', 'consumer', ARGV[2], 'updated_ms', ARGV[3])
redis.call('HINCRBY', state, 'attempts', 1)
return 'ok'

-- Claim a message for sending. KEYS[1]: outbox prefix. ARGV: idempotency key, consumer, now ms, and for a
-- promotion under frequency caps: the learner's day counter, week counter, day cap, week cap (0: none).
-- "ok": send it now. "done": already finished (delivered, suppressed, dead...): do not send.
-- "unknown": a previous attempt died while sending, so it may have gone out: never send it again.
-- "capped:day" / "capped:week": the learner had their share of promotions. Caps are checked and counted in
-- this one script, so two dispatchers cannot both pass the last free place; a message is counted once
-- even when it is claimed again after a retry.
local p = KEYS[1]
local state = p .. 'state:' .. ARGV[1]
local status = redis.call('HGET', state, 'status')
if status == 'sending' then return 'unknown' end
if status and status ~= 'queued' and status ~= 'retry' and status ~= 'held' then return 'done' end
if ARGV[4] and ARGV[4] ~= '' and redis.call('HGET', state, 'counted') ~= '1' then
  local day, week = p .. 'cap:' .. ARGV[4], p .. 'cap:' .. ARGV[5]
  local day_cap, week_cap = tonumber(ARGV[6]), tonumber(ARGV[7])
  if day_cap > 0 and tonumber(redis.call('GET', day) or '0') >= day_cap then return 'capped:day' end
  if week_cap > 0 and tonumber(redis.call('GET', week) or '0') >= week_cap then return 'capped:week' end
  redis.call('INCR', day)
  redis.call('EXPIRE', day, 3 * 86400)
  redis.call('INCR', week)
  redis.call('EXPIRE', week, 9 * 86400)
  redis.call('HSET', state, 'counted', '1')
end
redis.call('HSET', state, 'status', 'sending', 'consumer', ARGV[2], 'updated_ms', ARGV[3])
redis.call('HINCRBY', state, 'attempts', 1)
return 'ok'

-- Ingest one batch of interactions for one course, atomically, in one round trip.
-- KEYS[1]: the course's event stream. Every other key is built from ARGV[1], the course key prefix, which
-- carries the same {hash tag} as KEYS[1], so all keys live in one cluster slot.
-- ARGV: prefix, dedup ttl seconds, then 9 fields per event:
--   kind, platform, event id, learner, class, chat, timestamp ms, payload json, watch seconds
-- Returns a string with one character per event: "1" when new, "0" when a duplicate.
local p = ARGV[1]
local ttl = tonumber(ARGV[2])
local stream = KEYS[1]
local learners = p .. 'learners'
local buyers = p .. 'buyers'
local seen = {}
for i = 3, #ARGV, 9 do
  local kind, platform, eid = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local learner, class, chat = ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  local ts, payload, secs = ARGV[i + 6], ARGV[i + 7], tonumber(ARGV[i + 8])
  if redis.call('SET', p .. 'seen:' .. platform .. ':' .. eid, '1', 'NX', 'EX', ttl) then
    redis.call('XADD', stream, '*', 'k', kind, 'p', platform, 'e', eid, 'l', learner,
      'c', class, 'ch', chat, 't', ts, 'd', payload)
    redis.call('SADD', learners, learner)
    local totals = p .. 'l:' .. learner
    local per_class = nil
    if class ~= '' then
      per_class = p .. 'lc:' .. class .. ':' .. learner
      redis.call('SADD', p .. 'class:' .. class .. ':learners', learner)
    end
    if kind == 'watch_heartbeat' then
      redis.call('HINCRBY', totals, 'watch_s', secs)
      if per_class then redis.call('HINCRBY', per_class, 'watch_s', secs) end
    else
      redis.call('HINCRBY', totals, kind, 1)
      if per_class then redis.call('HINCRBY', per_class, kind, 1) end
    end
    if kind == 'purchase' then redis.call('SADD', buyers, learner) end
    -- The latest click on an offer or a class link, for the offer_no_purchase trigger and reports.
    if kind == 'offer_click' or kind == 'link_click' then
      local field = kind .. '_ts'
      if tonumber(ts) > tonumber(redis.call('HGET', totals, field) or '0') then
        redis.call('HSET', totals, field, ts)
        redis.call('ZADD', p .. 'by:' .. field, ts, learner)
      end
    end
    -- Events arrive out of order: keep the earliest first sighting and the latest last one.
    local tsn = tonumber(ts)
    redis.call('HSETNX', totals, 'first_ts', ts)
    local last = tonumber(redis.call('HGET', totals, 'last_ts') or '0')
    if tsn > last then
      redis.call('HSET', totals, 'last_ts', ts, 'last_platform', platform)
      -- Indexed by time, so that the campaign sweep finds learners gone quiet without scanning them all.
      redis.call('ZADD', p .. 'by:last_ts', ts, learner)
    end
    if per_class then
      local first = tonumber(redis.call('HGET', per_class, 'first_ts') or '0')
      if first == 0 or tsn < first then redis.call('HSET', per_class, 'first_ts', ts) end
      local lastc = tonumber(redis.call('HGET', per_class, 'last_ts') or '0')
      if tsn > lastc then redis.call('HSET', per_class, 'last_ts', ts) end
    end
    seen[#seen + 1] = '1'
  else
    seen[#seen + 1] = '0'
  end
end
return table.concat(seen)

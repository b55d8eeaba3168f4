-- Fold one learner's course history into another's (two accounts of one person were linked).
-- KEYS[1]: the course's learner set (its {course} tag places every key below in the same slot).
-- ARGV: course key prefix, the learner to keep, the learner to absorb, then the course's class ids.
-- Counters add up; first/last sightings take the earlier/later; set memberships move over.
local p, keep, gone = ARGV[1], ARGV[2], ARGV[3]

local function fold(into, from)
  local fields = redis.call('HGETALL', from)
  if #fields == 0 then return end
  local mine = {}
  local own = redis.call('HGETALL', into)
  for i = 1, #own, 2 do mine[own[i]] = own[i + 1] end
  local last_from = nil
  for i = 1, #fields, 2 do
    local k, v = fields[i], fields[i + 1]
    if k == 'first_ts' then
      if not mine[k] or tonumber(v) < tonumber(mine[k]) then redis.call('HSET', into, k, v) end
    elseif k == 'last_ts' then
      last_from = v
      if not mine[k] or tonumber(v) > tonumber(mine[k]) then redis.call('HSET', into, k, v) end
    elseif k == 'last_platform' then
      -- decided below, once we know whose last sighting is later
    elseif tonumber(v) then
      redis.call('HINCRBY', into, k, tonumber(v))
    end
  end
  local platform = redis.call('HGET', from, 'last_platform')
  if platform and last_from and (not mine['last_ts'] or tonumber(last_from) > tonumber(mine['last_ts'])) then
    redis.call('HSET', into, 'last_platform', platform)
  end
  redis.call('DEL', from)
end

if redis.call('SISMEMBER', KEYS[1], gone) == 0 then return 0 end
fold(p .. 'l:' .. keep, p .. 'l:' .. gone)
for i = 4, #ARGV do
  local class = ARGV[i]
  local members = p .. 'class:' .. class .. ':learners'
  if redis.call('SISMEMBER', members, gone) == 1 then
    fold(p .. 'lc:' .. class .. ':' .. keep, p .. 'lc:' .. class .. ':' .. gone)
    redis.call('SREM', members, gone)
    redis.call('SADD', members, keep)
  end
  redis.call('HDEL', p .. 'scores:' .. class, gone)
  redis.call('ZREM', p .. 'rank:' .. class, gone)
end
if redis.call('SREM', p .. 'buyers', gone) == 1 then redis.call('SADD', p .. 'buyers', keep) end
redis.call('SREM', KEYS[1], gone)
redis.call('SADD', KEYS[1], keep)
return 1

-- Admit watch-page heartbeats of one course at a pace: at most one per learner and class per minimum gap.
-- KEYS[1]: the course key prefix (it carries the course's {hash tag}, so every key built from it shares
-- its cluster slot). ARGV: minimum gap ms, pace key ttl ms, viewers key ttl ms, then one argument a heartbeat:
--   "<timestamp ms><US><class><US><learner>", US being the unit separator \x1f (one string rather than three:
--   packing arguments is what costs the client most)
-- Returns one character a heartbeat: "1" admitted, "0" too soon after the last admitted one.
local p = KEYS[1]
local gap = tonumber(ARGV[1])
local pace_ttl, viewers_ttl = ARGV[2], ARGV[3]
local out = {}
for i = 4, #ARGV do
  local ts, class, learner = string.match(ARGV[i], '^(%d+)\31([^\31]*)\31(.*)$')
  local pace = p .. 'hb:' .. class .. ':' .. learner
  local last = tonumber(redis.call('GET', pace) or '-1')
  if last < 0 or tonumber(ts) - last >= gap then
    redis.call('SET', pace, ts, 'PX', pace_ttl)
    local viewers = p .. 'viewers:' .. class
    redis.call('ZADD', viewers, ts, learner)
    redis.call('PEXPIRE', viewers, viewers_ttl)
    out[#out + 1] = '1'
  else
    out[#out + 1] = '0'
  end
end
return table.concat(out)

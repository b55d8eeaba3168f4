-- Acquire or renew a lease. KEYS[1]: the lease key. ARGV: owner id, time to live in ms.
-- Returns 1 when the caller holds the lease afterwards, 0 when someone else does.
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
  return 1
end
return 0

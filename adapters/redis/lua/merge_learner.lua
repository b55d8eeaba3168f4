-- Make two learners one: every identity of the absorbed learner now resolves to the kept one.
-- KEYS[1]: identities hash ({learners} tag). ARGV: profile key prefix, learner to keep, learner to absorb.
-- The kept profile gets the union of identities and platforms; opted out if either was (the safe side);
-- the absorbed profile remembers where it went, and the kept one lists it among its aliases.
local prefix, keep, gone = ARGV[1], ARGV[2], ARGV[3]
local kp, gp = prefix .. keep, prefix .. gone

local function union(field)
  local words, seen = {}, {}
  for _, key in ipairs({kp, gp}) do
    for w in string.gmatch(redis.call('HGET', key, field) or '', '%S+') do
      if not seen[w] then seen[w] = true; words[#words + 1] = w end
    end
  end
  table.sort(words)
  return table.concat(words, ' ')
end

local identities = union('identities')
for ident in string.gmatch(redis.call('HGET', gp, 'identities') or '', '%S+') do
  redis.call('HSET', KEYS[1], ident, keep)
end
redis.call('HSET', kp, 'identities', identities, 'reachable', union('reachable'),
  'unreachable', union('unreachable'), 'aliases', union('aliases') .. ' ' .. gone)
if redis.call('HGET', gp, 'opted_out') == '1' then redis.call('HSET', kp, 'opted_out', '1') end
for _, field in ipairs({'name', 'language'}) do
  local mine = redis.call('HGET', kp, field)
  if not mine or mine == '' then
    local theirs = redis.call('HGET', gp, field)
    if theirs then redis.call('HSET', kp, field, theirs) end
  end
end
redis.call('DEL', gp)
redis.call('HSET', gp, 'merged_into', keep)
return 1

-- Map platform identities to learner ids, creating learners on first sight.
-- KEYS[1]: identities hash (identity key -> learner id). ARGV[1]: learner profile key prefix.
-- Then 4 fields per identity: identity key, id for a new learner, display name, language.
-- A known identity keeps its learner id (it may have been linked to another learner); its name and
-- language are refreshed when given. Returns the learner ids in order.
local ids = {}
for i = 2, #ARGV, 4 do
  local ident, new_id, name, lang = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local id = redis.call('HGET', KEYS[1], ident)
  if not id then
    id = new_id
    redis.call('HSET', KEYS[1], ident, id)
    local profile = ARGV[1] .. id
    redis.call('HSETNX', profile, 'identities', ident)
  end
  local profile = ARGV[1] .. id
  if name ~= '' then redis.call('HSET', profile, 'name', name) end
  if lang ~= '' then redis.call('HSET', profile, 'language', lang) end
  ids[#ids + 1] = id
end
return ids

-- Apply one batch of prepared events and acknowledge it, as one atomic step.
--
-- Redis runs a script alone, start to end: either every effect of the batch and its XACK
-- happen, or none does. So a consumer killed anywhere leaves its entries either applied
-- and acknowledged, or unapplied and pending (redelivered later): nothing is lost and
-- nothing is applied twice. Duplicates from producers (the same event id appended twice)
-- are caught by the event ids remembered in the same step (idempotence by event id, seed
-- 000 "Streaming challenges"): sets of ids per `dedup bucket` of processing time, the last
-- DEDUP_SECONDS of them checked with one SMISMEMBER each. Keys are built here rather than declared:
-- this is one Redis, not a cluster (in a cluster the `an:` keys would share one hash tag).
--
-- Per event the script only checks the marker and the lateness and adds to Lua tables; the
-- tables are written once per batch (one ZINCRBY per distinct product and minute, one SADD
-- per funnel stage...): ~1 Redis call per event instead of ~20.
--
-- KEYS[1] stream   ARGV: group, allowed lateness (ms), minute-bucket ttl, day ttl, heavy
-- hitters kept, now (ms), dedup bucket (ms), dedup buckets checked, sketch width, sketch
-- depth, then the batch: ONE JSON array with an array of 13 values per event in
-- analytics.prepare.LAYOUT order. One argument, decoded here in C by cjson: as 13 arguments
-- per event, packing them was half of the consumer's CPU (bench scenario 10).
local stream, group = KEYS[1], ARGV[1]
local lateness, window_ttl, day_ttl, kept = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local now, bucket_ms, buckets = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local width, depth = tonumber(ARGV[9]), tonumber(ARGV[10])
local batch = cjson.decode(ARGV[11])
local P = 'an:'
local counts = {applied = 0, duplicate = 0, late = 0, invalid = 0}
-- The watermark is the newest event time seen by any consumer; lateness is measured from it.
local watermark = tonumber(redis.call('GET', P .. 'watermark') or '0')

local ttls, zsets, hashes, sets, hlls, sketches, meta, visitors = {}, {}, {}, {}, {}, {}, {}, {}
local orders_total = 0

local function add(store, key, member, n, ttl)
  store[key] = store[key] or {}
  store[key][member] = (store[key][member] or 0) + n
  ttls[key] = ttl
end

local function apply(e, seen_before)
  if e.type == '_invalid' then
    counts.invalid = counts.invalid + 1
    add(hashes, P .. 'meta:_invalid', 'count', 1)
    return
  end
  if seen_before then
    counts.duplicate = counts.duplicate + 1
    add(hashes, P .. 'meta:' .. e.type, 'duplicates', 1)
    return
  end
  e.m, e.h, e.d = math.floor(e.ts / 60000), math.floor(e.ts / 3600000), math.floor(e.ts / 86400000)
  if e.ts > watermark then watermark = e.ts end
  if e.ts < watermark - lateness then
    counts.late = counts.late + 1
    add(hashes, P .. 'meta:' .. e.type, 'late', 1)
    return
  end
  counts.applied = counts.applied + 1

  -- Metadata per event type (seed: "data about data"): count, first/last seen, its fields.
  add(hashes, P .. 'meta:' .. e.type, 'count', 1)
  local m = meta[e.type] or {first = e.ts, last = e.ts, fields = e.fields}
  if e.ts < m.first then m.first = e.ts end
  if e.ts >= m.last then m.last, m.fields = e.ts, e.fields end
  meta[e.type] = m

  -- Unique visitors (HyperLogLog: 12 KB per day, standard error 0.81%).
  add(hlls, P .. 'uv:' .. e.d, e.visitor, 1, day_ttl)
  if e.browser then  -- browsers, systems, devices: each visitor counted once a day
    visitors[e.d] = visitors[e.d] or {}
    visitors[e.d][e.visitor] = visitors[e.d][e.visitor] or {e.browser, e.os, e.device}
  end

  local kind = nil
  if e.type == 'page_view' then
    add(zsets, P .. 'pages:' .. e.d, e.subject, 1, day_ttl)
  elseif e.type == 'product_view' then
    add(zsets, P .. 'products:' .. e.m, e.subject, 1, window_ttl)
    add(sets, P .. 'funnel:' .. e.d .. ':view', e.session, 1, day_ttl)
    kind = 'products'
  elseif e.type == 'search' then
    add(zsets, P .. 'searches:' .. e.m, e.subject, 1, window_ttl)
    if e.results == 0 then add(zsets, P .. 'noresults:' .. e.d, e.subject, 1, day_ttl) end
    kind = 'searches'
  elseif e.type == 'add_to_cart' then
    add(sets, P .. 'funnel:' .. e.d .. ':cart', e.session, 1, day_ttl)
  elseif e.type == 'order_placed' then
    add(sets, P .. 'funnel:' .. e.d .. ':order', e.session, 1, day_ttl)
    -- Co-purchases (association rules, analytics/recommendations.py): orders with each
    -- product, and with each pair of products. Kept without expiry: it is the model.
    orders_total = orders_total + 1
    local items = {}
    for item in string.gmatch(e.items, '[^,]+') do items[#items + 1] = item end
    for _, a in ipairs(items) do
      add(hashes, P .. 'rec:item_orders', a, 1)
      for _, b in ipairs(items) do
        if a ~= b then add(zsets, P .. 'rec:pairs:' .. a, b, 1) end
      end
    end
  elseif e.type == 'order_confirmed' and e.subject ~= '' then
    add(sets, P .. 'funnel:' .. e.d .. ':confirmed', e.subject, 1, day_ttl)
  end
  if kind then  -- Count-Min sketch of product views and searches (analytics/sketch.py)
    local id = e.h .. '|' .. kind .. '|' .. e.subject
    local s = sketches[id] or {h = e.h, kind = kind, item = e.subject, n = 0}
    s.n = s.n + 1
    sketches[id] = s
  end
end

-- Which event ids were seen in the last buckets (one SMISMEMBER per bucket for the batch).
local entry_ids, ids = {}, {}
for i, row in ipairs(batch) do
  entry_ids[i] = row[1]
  ids[i] = row[2]
end
local seen = {}
local current = math.floor(now / bucket_ms)
if #ids > 0 then
  for b = current - buckets + 1, current do
    local flags = redis.call('SMISMEMBER', P .. 'seen:' .. b, unpack(ids))
    for j, flag in ipairs(flags) do if flag == 1 then seen[ids[j]] = true end end
  end
end
local fresh = {}
for _, row in ipairs(batch) do
  local e = {id = row[2], type = row[3], ts = row[4], session = row[5], visitor = row[6], browser = row[7],
             os = row[8], device = row[9], subject = row[10], results = row[11], items = row[12], fields = row[13]}
  if e.browser == '' then e.browser = nil end
  apply(e, seen[e.id])
  if e.type ~= '_invalid' and not seen[e.id] then
    seen[e.id] = true  -- a duplicate inside the same batch
    fresh[#fresh + 1] = e.id
  end
end
if #fresh > 0 then
  local key = P .. 'seen:' .. current
  redis.call('SADD', key, unpack(fresh))
  redis.call('PEXPIRE', key, buckets * bucket_ms + 60000)
end

-- Write the batch's effects, one call per distinct key and member.
local function expire(key) if ttls[key] then redis.call('EXPIRE', key, ttls[key]) end end
local function members_of(store_key)
  local list = {}
  for member in pairs(store_key) do list[#list + 1] = member end
  return list
end
for key, members in pairs(zsets) do
  for member, n in pairs(members) do redis.call('ZINCRBY', key, n, member) end
  expire(key)
end
for key, fields in pairs(hashes) do
  for field, n in pairs(fields) do redis.call('HINCRBY', key, field, n) end
  expire(key)
end
for key, members in pairs(sets) do redis.call('SADD', key, unpack(members_of(members))); expire(key) end
for key, members in pairs(hlls) do redis.call('PFADD', key, unpack(members_of(members))); expire(key) end
for d, by_visitor in pairs(visitors) do
  local seen_key, list = P .. 'agents:' .. d, members_of(by_visitor)
  local known = redis.call('SMISMEMBER', seen_key, unpack(list))
  for i, visitor in ipairs(list) do
    if known[i] == 0 then
      local families = by_visitor[visitor]
      redis.call('HINCRBY', P .. 'browser:' .. d, families[1], 1)
      redis.call('HINCRBY', P .. 'os:' .. d, families[2], 1)
      redis.call('HINCRBY', P .. 'device:' .. d, families[3], 1)
    end
  end
  redis.call('SADD', seen_key, unpack(list))
  for _, facet in ipairs({'agents:', 'browser:', 'os:', 'device:'}) do redis.call('EXPIRE', P .. facet .. d, day_ttl) end
end
local sketch_keys = {}
for _, s in pairs(sketches) do
  -- Row r's cell: the r-th 32 bits of SHA-1(kind prefix .. item) mod width (as analytics.sketch).
  local digest = redis.sha1hex(string.sub(s.kind, 1, 1) .. ':' .. s.item)
  local table_key, args = P .. 'cms:' .. s.h, {}
  for row = 0, depth - 1 do
    local cell = row * width + tonumber(string.sub(digest, 8 * row + 1, 8 * row + 8), 16) % width
    args[#args + 1] = 'INCRBY'; args[#args + 1] = 'u32'; args[#args + 1] = '#' .. cell; args[#args + 1] = s.n
  end
  local estimate = math.min(unpack(redis.call('BITFIELD', table_key, unpack(args))))
  local candidates = P .. 'hh:' .. s.h .. ':' .. s.kind
  redis.call('ZADD', candidates, estimate, s.item)
  sketch_keys[table_key] = (sketch_keys[table_key] or 0) + s.n
  sketch_keys[candidates] = 0
end
for key, n in pairs(sketch_keys) do
  if n > 0 then
    redis.call('INCRBY', key .. ':n', n)
    redis.call('EXPIRE', key .. ':n', day_ttl)
  elseif redis.call('ZCARD', key) > 2 * kept then
    redis.call('ZREMRANGEBYRANK', key, 0, -(kept + 1))
  end
  redis.call('EXPIRE', key, day_ttl)
end
for event_type, m in pairs(meta) do
  local key = P .. 'meta:' .. event_type
  redis.call('SADD', P .. 'types', event_type)
  local first = tonumber(redis.call('HGET', key, 'first_seen') or m.first)
  local last = tonumber(redis.call('HGET', key, 'last_seen') or '0')
  redis.call('HSET', key, 'first_seen', math.min(first, m.first))
  if m.last >= last then redis.call('HSET', key, 'last_seen', m.last, 'fields', m.fields) end
end
if orders_total > 0 then redis.call('INCRBY', P .. 'rec:orders', orders_total) end

redis.call('SET', P .. 'watermark', watermark)
if #entry_ids > 0 then redis.call('XACK', stream, group, unpack(entry_ids)) end
return {counts.applied, counts.duplicate, counts.late, counts.invalid}

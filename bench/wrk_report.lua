-- wrk hooks for ScaleShop's benchmarks (bench/wrk.py drives them through environment variables).
--   WRK_PATHS    file of request paths, most popular first: each request draws one by Zipf's law
--   WRK_ZIPF     the Zipf exponent (default 1.1)
--   WRK_DELAY_MS pause after each response per connection: an open-ish, roughly fixed arrival rate
--                (rate ~ connections * 1000 / (delay + latency)) instead of wrk's closed loop
--   WRK_METHOD, WRK_BODY  a fixed method and JSON body (login)
--   WRK_BODIES   file of JSON bodies, one per line: each request draws one (orders of varied products)
--   WRK_TOKENS   file of bearer tokens, one per line: each request is sent as a random one of them
--   WRK_FRESH_KEYS  any value: each request carries a new Idempotency-Key (every POST is a new order)
-- done() prints one line "WRK_JSON {...}" with every figure bench/wrk.py reads.

local method = os.getenv("WRK_METHOD")
local body = os.getenv("WRK_BODY")
if method then
  wrk.method = method
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end

local delay_ms = tonumber(os.getenv("WRK_DELAY_MS") or "0")
if delay_ms > 0 then
  function delay()
    return delay_ms
  end
end

local function lines_of(file)
  if not file then return nil end
  local list = {}
  for line in io.lines(file) do list[#list + 1] = line end
  return list
end

local bodies, tokens = lines_of(os.getenv("WRK_BODIES")), lines_of(os.getenv("WRK_TOKENS"))
local fresh_keys, sent = os.getenv("WRK_FRESH_KEYS"), 0

-- Each wrk thread has its own Lua state: seed each differently (keys must not repeat across threads).
local function seed()
  math.randomseed(os.time() + math.floor(os.clock() * 1e6) + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
end

local paths, cumulative = {}, {}
local paths_file = os.getenv("WRK_PATHS")
if bodies or tokens or fresh_keys then
  function init(args)
    seed()
  end

  function request()
    local headers = {}
    for name, value in pairs(wrk.headers) do headers[name] = value end
    if tokens then headers["Authorization"] = "Bearer " .. tokens[math.random(#tokens)] end
    if fresh_keys then
      sent = sent + 1
      headers["Idempotency-Key"] = string.format("wrk-%08x%08x-%x", math.random(0, 0x7fffffff),
                                                 math.random(0, 0x7fffffff), sent)
    end
    return wrk.format(nil, nil, headers, bodies and bodies[math.random(#bodies)] or wrk.body)
  end
elseif paths_file then
  local exponent = tonumber(os.getenv("WRK_ZIPF") or "1.1")
  local total = 0
  for line in io.lines(paths_file) do
    paths[#paths + 1] = line
    total = total + 1 / ((#paths) ^ exponent)
    cumulative[#paths] = total
  end

  function init(args)
    seed()
  end

  function request()
    local target = math.random() * cumulative[#cumulative]
    local low, high = 1, #cumulative
    while low < high do
      local middle = math.floor((low + high) / 2)
      if cumulative[middle] < target then low = middle + 1 else high = middle end
    end
    return wrk.format(nil, paths[low])
  end
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, "read_errors": %d, ' ..
    '"write_errors": %d, "status_errors": %d, "timeouts": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"p999_us": %d, "mean_us": %.1f, "max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, errors.connect, errors.read, errors.write, errors.status,
    errors.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.mean, latency.max))
end

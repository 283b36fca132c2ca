-- wrk script of the benchmark (bench/run.py sets the environment):
--   BENCH_OUT       file to write the JSON summary to
--   BENCH_HEADERS   request headers, one "Name: value" per line (Authorization, If-None-Match)
--   BENCH_BODY      for POSTs: a file holding the document, with @REF@ where the external_ref goes
--   BENCH_REF       for POSTs: the run's prefix of external_refs (each request gets its own)
--   BENCH_COUNT     "1": count response statuses (costs a Lua call per response; used for 304s
--                   and POSTs, whose bodies are small, never for the 200 pages)

local out = os.getenv("BENCH_OUT")
local threads = {}
local counter = 0
local body_head, body_tail = nil, nil

for line in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^\n]+") do
  local name, value = string.match(line, "^([^:]+):%s*(.*)$")
  if name then wrk.headers[name] = value end
end

local body_file = os.getenv("BENCH_BODY")
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  local template = f:read("*a")
  f:close()
  local at = string.find(template, "@REF@", 1, true)
  body_head = string.sub(template, 1, at - 1)
  body_tail = string.sub(template, at + 5)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

if body_head then
  local prefix = os.getenv("BENCH_REF") or "BENCH-"
  function request()
    counter = counter + 1
    local ref = prefix .. tid .. "-" .. counter
    return wrk.format(nil, nil, nil, body_head .. ref .. body_tail)
  end
end

if os.getenv("BENCH_COUNT") == "1" then
  function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
  end
end

local function encode_statuses(t)
  local parts = {}
  for status, n in pairs(t) do table.insert(parts, string.format('"%d": %d', status, n)) end
  return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    if s then
      for status, n in pairs(s) do merged[status] = (merged[status] or 0) + n end
    end
  end
  local e = summary.errors
  local json = string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "mean": %.1f, "max": %d}, ' ..
    '"statuses": %s}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max, encode_statuses(merged))
  local f = assert(io.open(out, "w"))
  f:write(json)
  f:close()
end

-- common.lua — shared by the bench's wrk scripts: thread numbering,
-- status-code counts (when a script counts them) and one machine-readable
-- summary line (BENCHJSON) that bench/run parses.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

-- A copy of wrk.headers (Host and every -H) with `extra` added.
function headers_with(extra)
  local h = {}
  for k, v in pairs(wrk.headers) do h[k] = v end
  for k, v in pairs(extra or {}) do h[k] = v end
  return h
end

-- Lines of a file, without empty ones.
function read_lines(path)
  local out = {}
  for line in io.lines(path) do
    if line ~= "" then out[#out + 1] = line end
  end
  return out
end

-- The GET requests of every path in LISTFILE below PREFIX (the script's
-- two arguments), and the random seed of this thread.
function list_requests(args)
  local h, reqs = headers_with({}), {}
  for _, p in ipairs(read_lines(args[1])) do
    reqs[#reqs + 1] = wrk.format("GET", args[2] .. p, h)
  end
  math.randomseed(os.time() * 100 + (tid or 0))
  return reqs
end

codes = {}
function count_response(status, headers, body)
  codes[status] = (codes[status] or 0) + 1
end

function done(summary, latency, requests)
  local agg = {}
  for _, t in ipairs(threads) do
    local c = t:get("codes")
    if c then
      for k, v in pairs(c) do agg[k] = (agg[k] or 0) + v end
    end
  end
  local parts = {}
  for k, v in pairs(agg) do
    parts[#parts + 1] = string.format('"%d":%d', k, v)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,' ..
    '"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,' ..
    '"p99_us":%d,"max_us":%d,"codes":{%s}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read,
    e.write, e.status, e.timeout, math.floor(latency:percentile(50)),
    math.floor(latency:percentile(99)), math.floor(latency.max),
    table.concat(parts, ",")))
end

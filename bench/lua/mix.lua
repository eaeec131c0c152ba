-- mix.lua — page loads: each load asks for the page and its assets and
-- json/main.json revalidated with If-None-Match (the ETags this server
-- gave), then data files at random.  Status codes are counted (304s).
--   wrk ... -s mix.lua URL -- PAGEFILE DATAFILE PREFIX DATA_PER_LOAD
-- PAGEFILE: "path<TAB>etag" per line; DATAFILE: one path per line.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua")

local page, data = {}, {}
local per_load, step = 3, 0

function init(args)
  for _, line in ipairs(read_lines(args[1])) do
    local p, etag = line:match("^([^\t]+)\t(.*)$")
    page[#page + 1] = wrk.format("GET", args[3] .. p,
                                 headers_with({["If-None-Match"] = etag}))
  end
  local h = headers_with({})
  for _, p in ipairs(read_lines(args[2])) do
    data[#data + 1] = wrk.format("GET", args[3] .. p, h)
  end
  per_load = tonumber(args[4]) or 3
  math.randomseed(os.time() * 100 + (tid or 0))
end

function request()
  local n = #page + per_load
  local i = step % n + 1
  step = step + 1
  if i <= #page then return page[i] end
  return data[math.random(#data)]
end

response = count_response

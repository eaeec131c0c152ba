-- trickle.lua — light steady traffic (one request per connection every
-- 20 ms), so that every child attaches each new corte during the RSS run.
--   wrk ... -s trickle.lua URL -- LISTFILE PREFIX
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua")

local reqs = {}

function init(args)
  reqs = list_requests(args)
  table.insert(reqs, 1, wrk.format("GET", args[2] .. "json/main.json", headers_with({})))
end

function request()
  return reqs[math.random(#reqs)]
end

function delay()
  return 20
end

response = count_response

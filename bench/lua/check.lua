-- check.lua — load during swaps: json/main.json, index.html and random
-- data files, every status code counted.
--   wrk ... -s check.lua URL -- LISTFILE PREFIX
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua")

local fixed, reqs = {}, {}
local step = 0

function init(args)
  local h = headers_with({})
  fixed[1] = wrk.format("GET", args[2] .. "json/main.json", h)
  fixed[2] = wrk.format("GET", args[2] .. "index.html", h)
  reqs = list_requests(args)
end

function request()
  step = step + 1
  if step % 4 == 1 then return fixed[1] end
  if step % 4 == 2 then return fixed[2] end
  return reqs[math.random(#reqs)]
end

response = count_response

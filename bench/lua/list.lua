-- list.lua — a random path from a list for every request.
--   wrk ... -s list.lua URL -- LISTFILE PREFIX
-- LISTFILE: one path per line, relative to the package root; PREFIX: the
-- URL path the package is served under ("/prep/ref/").
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua")

local reqs = {}

function init(args)
  local h = headers_with({})
  for _, p in ipairs(read_lines(args[1])) do
    reqs[#reqs + 1] = wrk.format("GET", args[2] .. p, h)
  end
  math.randomseed(os.time() * 100 + (tid or 0))
end

function request()
  return reqs[math.random(#reqs)]
end

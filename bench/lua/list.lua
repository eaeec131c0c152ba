-- list.lua — a random path from a list for every request.
--   wrk ... -s list.lua URL -- LISTFILE PREFIX
-- LISTFILE: one path per line, relative to the package root; PREFIX: the
-- URL path the package is served under ("/prep/ref/").
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua")

local reqs = {}

function init(args)
  reqs = list_requests(args)
end

function request()
  return reqs[math.random(#reqs)]
end

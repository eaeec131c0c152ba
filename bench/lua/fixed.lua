-- fixed.lua — the URL given to wrk, again and again (wrk's own static
-- request); only the summary line is added.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua")

-- wrk script: post.lua's 1 KiB JSON POSTs, stopping after BENCH_COUNT
-- responses (default 2000), so that runs of two binaries serve the same
-- number of exchanges. wrk then idles until its -d duration is over.
dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/post.lua")

local limit = tonumber(os.getenv("BENCH_COUNT") or "2000")
local seen = 0

function response(status, headers, body)
  seen = seen + 1
  if seen >= limit then
    wrk.thread:stop()
  end
end

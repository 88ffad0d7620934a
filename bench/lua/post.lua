-- wrk script: POST a Messages API JSON request of BENCH_BODY_BYTES bytes
-- (default 1024) to /v1/messages. BENCH_PATH overrides the request target,
-- e.g. an absolute URL for a forward (regular-mode) proxy.
local size = tonumber(os.getenv("BENCH_BODY_BYTES") or "1024")
local head = '{"model":"claude-opus-5-5","max_tokens":1024,"messages":[{"role":"user","content":"'
local tail = '"}]}'
local pad = size - #head - #tail
if pad < 0 then pad = 0 end
local unit = "lorem ipsum dolor sit amet "
local filler = string.rep(unit, math.floor(pad / #unit) + 1):sub(1, pad)

wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH") or "/v1/messages"
wrk.body = head .. filler .. tail
wrk.headers["Content-Type"] = "application/json"
wrk.headers["anthropic-version"] = "2023-06-01"
wrk.headers["x-api-key"] = "sk-ant-api03-FAKE-bench-000000000000000000000000000000000000"

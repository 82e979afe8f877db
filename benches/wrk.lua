-- wrk script for benches/load.sh: one endpoint of desk serve at a fixed request rate.
-- Arguments (after `--`): MODE TOKEN RATE CONNECTIONS MAX_TICKET_ID VIEW_ID
--   MODE: list | get | messages | post
-- Each connection waits CONNECTIONS*1000/RATE ms between requests, so the whole run offers
-- about RATE requests per second (wrk itself is closed-loop; this paces it).

local mode, token, rate, conns, max_id, view
local counter = 0

function init(args)
  mode = args[1] or "get"
  token = args[2]
  rate = tonumber(args[3] or "500")
  conns = tonumber(args[4] or "10")
  max_id = tonumber(args[5] or "1000")
  view = args[6] or "2"
  math.randomseed(os.time() + (tonumber(tostring({}):sub(8)) or 0))
end

function delay()
  return conns * 1000 / rate
end

function request()
  counter = counter + 1
  local id = math.random(1, max_id)
  local headers = { ["Authorization"] = "Bearer " .. token }
  if mode == "list" then
    return wrk.format("GET", "/api/v1/tickets?view=" .. view .. "&limit=50", headers)
  elseif mode == "get" then
    return wrk.format("GET", "/api/v1/tickets/" .. id, headers)
  elseif mode == "messages" then
    return wrk.format("GET", "/api/v1/tickets/" .. id .. "/messages", headers)
  else
    headers["Content-Type"] = "application/json"
    local body = '{"visibility": "internal", "body_markdown": "load test note ' .. counter .. '"}'
    return wrk.format("POST", "/api/v1/tickets/" .. id .. "/messages", headers, body)
  end
end

function done(summary, latency, requests)
  io.write(string.format("RESULT mode=%s requests=%d duration_s=%.1f rate=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d\n",
    mode, summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end

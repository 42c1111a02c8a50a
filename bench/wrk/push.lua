-- wrk driving the push scenarios of bench/run.py: POST /api/v1/push with the bodies of a file
-- (one JSON body per line, written by bench/runners/wrk.py), in order, until COUNT answers.
--   wrk -t1 -cK -d300s -s push.lua URL -- BODIES COUNT
-- Prints "ready" when the last answer came (the runner then stops wrk with SIGINT) and, from
-- done(), one JSON line: CPU seconds of the wrk process from its first request on
-- (os.clock()), answers, errors, and latency percentiles.

local requests, target = {}, 0
-- Globals: done() reads them from each thread with thread:get().
t0, answered, errors = nil, 0, 0

function init(args)
  target = tonumber(args[2])
  local headers = { ["Content-Type"] = "application/json" }
  for line in io.lines(args[1]) do
    requests[#requests + 1] = wrk.format("POST", "/api/v1/push", headers, line)
  end
end

local sent = 0
function request()
  if t0 == nil then t0 = os.clock() end
  sent = sent + 1
  return requests[(sent - 1) % #requests + 1]
end

function response(status, headers, body)
  answered = answered + 1
  if status >= 300 then errors = errors + 1 end
  if answered == target then
    io.write("ready\n")
    io.flush()
    wrk.thread:stop()
  end
end

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, requests_)
  local cpu = os.clock()
  local first, answers, failed = nil, 0, 0
  for _, t in ipairs(threads) do
    local s = t:get("t0")
    if s ~= nil and (first == nil or s < first) then first = s end
    answers = answers + (t:get("answered") or 0)
    failed = failed + (t:get("errors") or 0)
  end
  io.write(string.format(
    '{"wrk_cpu_s": %.6f, "answers": %d, "errors": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d}\n',
    cpu - (first or 0), answers, failed, summary.duration,
    latency:percentile(50), latency:percentile(99)))
end

-- wrk script: count responses by status code, across all threads, and print them at the end
-- as one line "statuses 200=1234 304=5" that bench/run reads.
-- BENCH_METHOD and BENCH_BODY (from bench/load.py) make it a POST of a JSON body (OFREP).
local threads = {}

if os.getenv("BENCH_METHOD") then
  wrk.method = os.getenv("BENCH_METHOD")
end
if os.getenv("BENCH_BODY") then
  wrk.body = os.getenv("BENCH_BODY")
  wrk.headers["Content-Type"] = "application/json"
end

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counts = {}
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("counts")) do
      total[status] = (total[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(total) do
    table.insert(parts, status .. "=" .. n)
  end
  table.sort(parts)
  io.write("statuses " .. table.concat(parts, " ") .. "\n")
end

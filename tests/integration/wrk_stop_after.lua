-- Stops this wrk thread after N responses, so no request is left in flight.
local n = tonumber(os.getenv("WRK_REQUESTS") or "1000")
local count = 0
response = function(status, headers, body)
  count = count + 1
  if count >= n then wrk.thread:stop() end
end

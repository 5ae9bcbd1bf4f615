-- Paces each connection: after each answer it waits `delay` milliseconds, so
-- `connections * 1000 / delay` requests a second are offered (the answer's own
-- time comes on top, so a little less is measured). Set with PACE_DELAY_MS.
local wait = tonumber(os.getenv("PACE_DELAY_MS") or "10")
function delay()
  return wait
end

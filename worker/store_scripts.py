"""The Lua scripts that change a job's status, so that every transition is one atomic step in Redis.

A job's status lives in its hash (``job:{id}``, field ``status``) and, for listing and counting, in
one sorted set per status (``status:{name}``, scored by the job's creation sequence number). Each
script moves both together and appends the matching event to the job's stream, so a reader never
sees a status without its event or a job counted under two statuses. Key names below the prefix
are built inside the scripts: the store targets one Redis node, not a cluster.
"""

# KEYS: job, events, idempotency key ("" for none)
# ARGV: prefix, id, fields (JSON object of strings), queue cap (0 = none), ttl, idempotency value, event JSON
CREATE = """
if KEYS[3] ~= "" then
  local existing = redis.call("GET", KEYS[3])
  if existing then return {"existing", existing} end
end
local queued = ARGV[1] .. "status:queued"
local cap = tonumber(ARGV[4])
local depth = redis.call("ZCARD", queued)
if cap > 0 and depth >= cap then return {"full", tostring(depth)} end
local seq = redis.call("INCR", ARGV[1] .. "seq")
local fields = cjson.decode(ARGV[3])
for k, v in pairs(fields) do redis.call("HSET", KEYS[1], k, v) end
redis.call("HSET", KEYS[1], "seq", seq, "status", "queued")
redis.call("EXPIRE", KEYS[1], ARGV[5])
redis.call("ZADD", ARGV[1] .. "jobs", seq, ARGV[2])
redis.call("ZADD", queued, seq, ARGV[2])
redis.call("XADD", KEYS[2], "*", "type", "queued", "data", ARGV[7])
redis.call("EXPIRE", KEYS[2], ARGV[5])
if KEYS[3] ~= "" then redis.call("SET", KEYS[3], ARGV[6], "EX", ARGV[5]) end
return {"created", ARGV[2]}
"""

# KEYS: job, events, images
# ARGV: prefix, allowed statuses (",a,b,"), new status, fields JSON, event JSON ("" none), expected attempt ("" any), ttl ("" keep)
TRANSITION = """
local current = redis.call("HGET", KEYS[1], "status")
if not current then return {"missing", ""} end
if not string.find(ARGV[2], "," .. current .. ",", 1, true) then return {"conflict", current} end
if ARGV[6] ~= "" and redis.call("HGET", KEYS[1], "attempts") ~= ARGV[6] then return {"stale", current} end
local fields = cjson.decode(ARGV[4])
for k, v in pairs(fields) do redis.call("HSET", KEYS[1], k, v) end
redis.call("HSET", KEYS[1], "status", ARGV[3])
local id = redis.call("HGET", KEYS[1], "id")
local seq = redis.call("HGET", KEYS[1], "seq")
redis.call("ZREM", ARGV[1] .. "status:" .. current, id)
redis.call("ZADD", ARGV[1] .. "status:" .. ARGV[3], seq, id)
if ARGV[5] ~= "" then redis.call("XADD", KEYS[2], "MAXLEN", "~", "2000", "*", "type", ARGV[3], "data", ARGV[5]) end
if ARGV[7] ~= "" then
  for i = 1, 3 do redis.call("EXPIRE", KEYS[i], ARGV[7]) end
  redis.call("DEL", KEYS[1] .. ":checkpoint")  -- the job has ended: its sampler checkpoint is of no more use
end
return {"ok", current}
"""

# A worker takes a delivered job. KEYS: job, events
# ARGV: prefix, max attempts, now, worker JSON, ttl
# Returns {"skip", status} for a job that is no longer queued/running (finished, cancelled: a
# redelivery does nothing), {"exhausted", attempts} when the attempt cap is passed (the job is then
# failed here), {"started", attempts} otherwise (progress reset: a half-done job restarts cleanly).
BEGIN = """
local current = redis.call("HGET", KEYS[1], "status")
if not current then return {"missing", ""} end
if current ~= "queued" and current ~= "running" then return {"skip", current} end
local attempts = redis.call("HINCRBY", KEYS[1], "attempts", 1)
local id = redis.call("HGET", KEYS[1], "id")
local seq = redis.call("HGET", KEYS[1], "seq")
redis.call("ZREM", ARGV[1] .. "status:" .. current, id)
if attempts > tonumber(ARGV[2]) then
  local lost = attempts - 1
  local err = cjson.encode({code = "worker_lost", field = cjson.null, message =
    "the worker running this job was lost " .. lost .. " time(s) (killed, out of memory or crashed); " ..
    "it was not retried again because SPINDIFF_MAX_ATTEMPTS=" .. ARGV[2]})
  redis.call("HSET", KEYS[1], "status", "failed", "finished_at", ARGV[3], "error", err, "attempts", lost)
  redis.call("ZADD", ARGV[1] .. "status:failed", seq, id)
  redis.call("XADD", KEYS[2], "MAXLEN", "~", "2000", "*", "type", "failed",
    "data", cjson.encode({status = "failed", error = cjson.decode(err)}))
  redis.call("EXPIRE", KEYS[1], ARGV[5])
  redis.call("EXPIRE", KEYS[2], ARGV[5])
  redis.call("DEL", KEYS[1] .. ":checkpoint")
  return {"exhausted", tostring(lost)}
end
if current == "queued" then redis.call("HSET", KEYS[1], "started_at", ARGV[3]) end
redis.call("HSET", KEYS[1], "status", "running", "heartbeat_at", ARGV[3], "worker", ARGV[4], "progress", "", "preempt", "0")
redis.call("ZADD", ARGV[1] .. "status:running", seq, id)
redis.call("XADD", KEYS[2], "MAXLEN", "~", "2000", "*", "type", "running",
  "data", cjson.encode({status = "running", attempt = attempts}))
return {"started", tostring(attempts)}
"""

# KEYS: job, events. ARGV: prefix, now, ttl, event JSON
# queued → cancelled at once; running → the cancel flag (the worker stops within one step).
CANCEL = """
local current = redis.call("HGET", KEYS[1], "status")
if not current then return {"missing", ""} end
if current == "queued" then
  local id = redis.call("HGET", KEYS[1], "id")
  local seq = redis.call("HGET", KEYS[1], "seq")
  redis.call("HSET", KEYS[1], "status", "cancelled", "finished_at", ARGV[2], "cancel_requested", "1")
  redis.call("ZREM", ARGV[1] .. "status:queued", id)
  redis.call("ZADD", ARGV[1] .. "status:cancelled", seq, id)
  redis.call("XADD", KEYS[2], "MAXLEN", "~", "2000", "*", "type", "cancelled", "data", ARGV[4])
  redis.call("EXPIRE", KEYS[1], ARGV[3])
  redis.call("EXPIRE", KEYS[2], ARGV[3])
  redis.call("DEL", KEYS[1] .. ":checkpoint")
  return {"cancelled", current}
end
if current == "running" then
  redis.call("HSET", KEYS[1], "cancel_requested", "1")
  return {"requested", current}
end
return {"terminal", current}
"""

# KEYS: job, events. ARGV: attempt, now, progress JSON, event JSON ("" none)
# Returns "stale" when another delivery of the job has taken it over, else the cancel flag.
PROGRESS = """
if redis.call("HGET", KEYS[1], "attempts") ~= ARGV[1] or redis.call("HGET", KEYS[1], "status") ~= "running" then
  return "stale"
end
redis.call("HSET", KEYS[1], "progress", ARGV[3], "heartbeat_at", ARGV[2])
if ARGV[4] ~= "" then
  redis.call("XADD", KEYS[2], "MAXLEN", "~", "2000", "*", "type", "progress", "data", ARGV[4])
end
return redis.call("HGET", KEYS[1], "cancel_requested") or "0"
"""

# A stopping worker gives a running job back. KEYS: job, events. ARGV: prefix, attempt, event JSON
# running → queued for this attempt, and the attempt is given back (the counter moves back by one), so
# a graceful stop never counts against SPINDIFF_MAX_ATTEMPTS; the next delivery takes the same number.
REQUEUE_STOPPED = """
if redis.call("HGET", KEYS[1], "status") ~= "running" or redis.call("HGET", KEYS[1], "attempts") ~= ARGV[2] then
  return "stale"
end
local id = redis.call("HGET", KEYS[1], "id")
local seq = redis.call("HGET", KEYS[1], "seq")
redis.call("HSET", KEYS[1], "status", "queued", "progress", "", "preempt", "0")
redis.call("HINCRBY", KEYS[1], "attempts", -1)
redis.call("HINCRBY", KEYS[1], "stops", 1)
redis.call("ZREM", ARGV[1] .. "status:running", id)
redis.call("ZADD", ARGV[1] .. "status:queued", seq, id)
redis.call("XADD", KEYS[2], "MAXLEN", "~", "2000", "*", "type", "queued", "data", ARGV[3])
return "ok"
"""

# A running attempt stores its sampler checkpoint. KEYS: job, checkpoint. ARGV: attempt, bytes, ttl
# Written only while that attempt holds the job, so a superseded delivery cannot overwrite a newer state.
SAVE_CHECKPOINT = """
if redis.call("HGET", KEYS[1], "status") ~= "running" or redis.call("HGET", KEYS[1], "attempts") ~= ARGV[1] then
  return 0
end
redis.call("SET", KEYS[2], ARGV[2], "EX", ARGV[3])
return 1
"""

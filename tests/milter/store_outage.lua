-- The registry store becomes unreadable (SPEC 5): while the last snapshot is younger than
-- store.max_staleness (3 s in run.sh's config) decisions use it; after that, governed mail is
-- tempfailed with store_unavailable -- at RCPT, and at end of message for a transaction that
-- was already past RCPT -- and never accepted blindly. Ungoverned mail is not affected. When
-- the store is back, mail flows again. run.sh runs this script last; the store is restored here.
--
-- The outage is simulated by renaming the registry's meta table (every read starts with the
-- generation counter kept there), which fails the daemon's open connections as well.
dofile(LIB)
local SCRIPT = "store_outage.lua"
local D = "@agents.example.com"
local STALENESS = 3 -- seconds, store.max_staleness in run.sh's config

-- Waits for locks as agentgated's own connections do (busy timeout 5 s): the daemon reopens
-- the store after every failed poll, and a write racing that open must wait, not fail.
local function sql(stmt)
  return os.execute(string.format("sqlite3 -cmd '.timeout 5000' '%s' \"%s\" >/dev/null 2>&1",
                                  DB, stmt)) == true
end

local function log_has(text, from_line)
  local f = io.open(LOG, "r")
  if not f then return false end
  local n = 0
  for line in f:lines() do
    n = n + 1
    if n >= from_line and line:find(text, 1, true) then f:close(); return true end
  end
  f:close()
  return false
end

local function log_lines()
  local n = 0
  local f = io.open(LOG, "r")
  if not f then return 0 end
  for _ in f:lines() do n = n + 1 end
  f:close()
  return n
end

local function wait_log(text, from_line, seconds)
  for _ = 1, seconds * 20 do
    if log_has(text, from_line) then return true end
    mt.sleep(0.05)
  end
  return false
end

local function now()
  local p = io.popen("date +%s.%N")
  local t = tonumber(p:read("*l"))
  p:close()
  return t
end

local function bot1_message(conn, qid)
  T.ok(T.mail(conn, "<bot1" .. D .. ">", { qid = qid, auth = "bot1" }) == SMFIR_CONTINUE,
       qid .. ": MAIL -> CONTINUE")
  T.rcpt_ok(conn, "<customer@example.com>")
  T.headers(conn, { { "From", "bot1@agents.example.com" }, { "Subject", "outage-test" } })
  return T.eom(conn)
end

local outage = false
T.case("store outage", function()
  -- a transaction that gets past RCPT before the outage
  local early = T.connect()
  T.ok(T.mail(early, "<bot1" .. D .. ">", { qid = "SO-EOM", auth = "bot1" }) == SMFIR_CONTINUE,
       "MAIL -> CONTINUE")
  T.rcpt_ok(early, "<customer@example.com>")
  T.headers(early, { { "From", "bot1@agents.example.com" } })

  local mark = log_lines()
  if not T.ok(sql("ALTER TABLE meta RENAME TO meta_outage"), "store made unreadable") then
    T.die("cannot simulate the outage")
  end
  outage = true
  local t0 = now()
  T.ok(wait_log("registry store unreadable", mark, 5), "daemon logs that the store is unreadable")

  -- still inside max_staleness: the last snapshot decides (a 1 s margin for slow machines)
  local conn = T.connect()
  if now() - t0 < STALENESS - 1 then
    T.check_eom_accept(conn, bot1_message(conn, "SO-FRESH"), "SO-FRESH",
                       { direction = "outbound", identity = "bot1" })
  else
    mt.echo("note: slow machine, skipped the within-staleness check")
  end

  mt.sleep(math.max(0, STALENESS + 0.5 - (now() - t0)))

  -- the transaction that was already past RCPT: tempfailed at its end
  local r = T.eom(early)
  T.ok(r == SMFIR_REPLYCODE, "EOM -> REPLYCODE (tempfail)")
  local ev = T.must_event("SO-EOM", "eom")
  local text = T.reply_text("store_unavailable", ev)
  T.ok(mt.eom_check(early, MT_SMTPREPLY, "451", "4.7.1", text), "EOM reply is '451 4.7.1 " .. text .. "'")
  T.ok(not mt.eom_check(early, MT_HDRINSERT), "tempfailed: no header inserted")
  T.expect { qid = "SO-EOM", stage = "eom", action = "tempfail", reasons = "store_unavailable",
             would = "tempfail" }
  mt.disconnect(early)

  -- outbound agent mail: refused at RCPT
  T.ok(T.mail(conn, "<bot1" .. D .. ">", { qid = "SO-RCPT-OUT", auth = "bot1" }) == SMFIR_CONTINUE,
       "MAIL -> CONTINUE")
  T.rcpt_refused(conn, "<customer@example.com>")
  T.must(mt.abort(conn), "abort")
  T.expect { qid = "SO-RCPT-OUT", stage = "rcpt", to = "customer@example.com", action = "tempfail",
             reasons = "store_unavailable", direction = "outbound" }
  -- inbound agent mail: refused at RCPT
  T.ok(T.mail(conn, "<billing@partner.example>", { qid = "SO-RCPT-IN" }) == SMFIR_CONTINUE,
       "MAIL -> CONTINUE")
  T.rcpt_refused(conn, "<inbox1" .. D .. ">")
  T.must(mt.abort(conn), "abort")
  T.expect { qid = "SO-RCPT-IN", stage = "rcpt", to = "inbox1" .. D, action = "tempfail",
             reasons = "store_unavailable", direction = "inbound" }
  -- ordinary mail does not need the registry
  T.ok(T.mail(conn, "<alice@example.com>", { qid = "SO-PLAIN" }) == SMFIR_CONTINUE, "MAIL -> CONTINUE")
  T.rcpt_ok(conn, "<bob@example.org>")
  T.headers(conn, { { "From", "alice@example.com" } })
  T.check_eom_ungoverned(conn, T.eom(conn), "SO-PLAIN")

  -- the store comes back
  mark = log_lines()
  if T.ok(sql("ALTER TABLE meta_outage RENAME TO meta"), "store readable again") then outage = false end
  T.ok(wait_log("registry store reachable again", mark, 5), "daemon logs that the store is back")
  T.check_eom_accept(conn, bot1_message(conn, "SO-BACK"), "SO-BACK",
                     { direction = "outbound", identity = "bot1" })
  T.expect { qid = "SO-BACK", stage = "eom", action = "accept", reasons = "none" }
  mt.disconnect(conn)
end)

if outage then sql("ALTER TABLE meta_outage RENAME TO meta") end
T.finish(SCRIPT)

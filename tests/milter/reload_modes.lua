-- Config-driven decisions, applied to the running daemon with SIGHUP (run.sh runs this script
-- last and restores the config here): [policy.actions] maps reason codes to other actions, and
-- policy.mode = "monitor" decides and logs but accepts everything (SPEC 5). Inbound mail from a
-- sender outside accept_from is marked untrusted even where config accepts it.
dofile(LIB)
local SCRIPT = "reload_modes.lua"
local D = "@agents.example.com"

local function read_file(path)
  local f = assert(io.open(path, "r"))
  local s = f:read("*a")
  f:close()
  return s
end

local function write_file(path, s)
  local f = assert(io.open(path, "w"))
  f:write(s)
  f:close()
end

local function count_reloads()
  local n = 0
  local f = io.open(LOG, "r")
  if not f then return 0 end
  for line in f:lines() do
    if line:find("reloaded ", 1, true) or line:find("reload refused", 1, true) then n = n + 1 end
  end
  f:close()
  return n
end

-- Writes the config, sends SIGHUP and waits (up to 5 s) until the daemon logged the reload.
local function reload(text, what)
  write_file(CFG, text)
  local before = count_reloads()
  if not os.execute("kill -HUP " .. DPID) then T.die("kill -HUP " .. DPID .. " failed") end
  for _ = 1, 100 do
    if count_reloads() > before then
      local log = read_file(LOG)
      T.ok(not log:find("reload refused", 1, true), "daemon reloaded: " .. what)
      return
    end
    mt.sleep(0.05)
  end
  T.die("no reload logged within 5 s: " .. what)
end

local ORIGINAL = read_file(CFG)

local function outbound(conn, qid, sender, auth, rcpts, from)
  T.ok(T.mail(conn, "<" .. sender .. ">", { qid = qid, auth = auth }) == SMFIR_CONTINUE,
       qid .. ": MAIL -> CONTINUE")
  for _, rc in ipairs(rcpts) do
    local r = T.rcpt(conn, "<" .. rc[1] .. ">")
    T.eq(T.reply_name(r), rc[2], qid .. ": RCPT " .. rc[1])
  end
  T.headers(conn, { { "From", from or sender }, { "Subject", "reload-test" } })
  return T.eom(conn)
end

T.case("[policy.actions]: per-reason actions", function()
  reload(ORIGINAL .. [[

[policy.actions]
sender_not_trusted = "accept"
identity_suspended = "tempfail"
unknown_agent_recipient = "tempfail"
]], "sender_not_trusted=accept, identity_suspended/unknown_agent_recipient=tempfail")
  local conn = T.connect()
  -- accepted by config, but still marked untrusted for the agent runtime
  local r = outbound(conn, "RL-TRUST", "stranger@random.example", nil,
                     { { "inbox1" .. D, "CONTINUE" } })
  T.check_eom_accept(conn, r, "RL-TRUST", { direction = "inbound", identity = "inbox1",
                     reasons = "sender_not_trusted", trust = "untrusted" })
  T.expect { qid = "RL-TRUST", stage = "eom", action = "accept", would = "accept",
             reasons = "sender_not_trusted", untrusted = "true" }
  -- a whole-message tempfail: 451 4.7.1 with the reason code
  r = outbound(conn, "RL-TEMP", "susp1" .. D, "susp1", { { "customer@example.com", "CONTINUE" } })
  T.ok(r == SMFIR_REPLYCODE, "EOM -> REPLYCODE (tempfail)")
  local ev = T.must_event("RL-TEMP", "eom")
  local text = T.reply_text("identity_suspended", ev)
  T.ok(mt.eom_check(conn, MT_SMTPREPLY, "451", "4.7.1", text), "EOM reply is '451 4.7.1 " .. text .. "'")
  T.ok(not mt.eom_check(conn, MT_HDRINSERT), "tempfailed: no header inserted")
  T.expect { qid = "RL-TEMP", stage = "eom", action = "tempfail", reasons = "identity_suspended",
             outcome = "failure" }
  -- a per-recipient tempfail at RCPT
  T.ok(T.mail(conn, "<billing@partner.example>", { qid = "RL-RCPT" }) == SMFIR_CONTINUE, "MAIL")
  T.rcpt_refused(conn, "<nobody" .. D .. ">")
  T.must(mt.abort(conn), "abort")
  T.expect { qid = "RL-RCPT", stage = "rcpt", to = "nobody" .. D, action = "tempfail",
             reasons = "unknown_agent_recipient" }
  mt.disconnect(conn)
end)

T.case("monitor mode: everything accepted, enforce's decision logged", function()
  local monitor = ORIGINAL:gsub('mode = "enforce"', 'mode = "monitor"')
  if monitor == ORIGINAL then T.die("config has no 'mode = \"enforce\"' line to change") end
  reload(monitor, "mode=monitor")
  local conn = T.connect()
  -- a revoked identity and a recipient outside its targets would both be refused
  local r = outbound(conn, "RL-MON-REV", "rev1" .. D, "rev1", { { "customer@example.com", "CONTINUE" } })
  T.check_eom_accept(conn, r, "RL-MON-REV", { verdict = "accept", header_verdict = "reject",
                     mode = "monitor", direction = "outbound", identity = "rev1",
                     reasons = "identity_revoked" })
  T.expect { qid = "RL-MON-REV", stage = "eom", action = "accept", would = "reject",
             mode = "monitor", reasons = "identity_revoked" }
  r = outbound(conn, "RL-MON-RCPT", "bot1" .. D, "bot1",
               { { "someone@elsewhere.example", "CONTINUE" }, { "nobody" .. D, "CONTINUE" } },
               "bot1" .. D)
  T.check_eom_accept(conn, r, "RL-MON-RCPT", { verdict = "accept", header_verdict = "reject",
                     mode = "monitor", direction = "internal", identity = "bot1",
                     reasons = "recipient_not_permitted,unknown_agent_recipient" })
  T.expect { qid = "RL-MON-RCPT", stage = "rcpt", to = "someone@elsewhere.example",
             action = "accept", would = "reject", mode = "monitor",
             reasons = "recipient_not_permitted" }
  -- checked as bot1's recipient first: not one of its targets
  T.expect { qid = "RL-MON-RCPT", stage = "rcpt", to = "nobody" .. D, action = "accept",
             would = "reject", reasons = "recipient_not_permitted", direction = "outbound" }
  T.expect { qid = "RL-MON-RCPT", stage = "eom", action = "accept", would = "reject",
             to = "someone@elsewhere.example,nobody" .. D,
             reasons = "recipient_not_permitted,unknown_agent_recipient" }
  -- quarantine is not applied either
  r = outbound(conn, "RL-MON-Q", "stranger@random.example", nil, { { "inbox1" .. D, "CONTINUE" } })
  T.check_eom_accept(conn, r, "RL-MON-Q", { verdict = "accept", header_verdict = "quarantine",
                     mode = "monitor", direction = "inbound", identity = "inbox1",
                     reasons = "sender_not_trusted", trust = "untrusted" })
  T.expect { qid = "RL-MON-Q", stage = "eom", action = "accept", would = "quarantine",
             untrusted = "true" }
  mt.disconnect(conn)
end)

T.case("back to the original config: enforcing again", function()
  reload(ORIGINAL, "original config")
  local conn = T.connect()
  local r = outbound(conn, "RL-BACK", "rev1" .. D, "rev1", { { "customer@example.com", "CONTINUE" } })
  T.check_eom_reject(conn, r, "RL-BACK", "identity_revoked")
  T.expect { qid = "RL-BACK", stage = "eom", action = "reject", mode = "enforce" }
  mt.disconnect(conn)
end)

if read_file(CFG) ~= ORIGINAL then -- a case died half-way: leave the config as found
  write_file(CFG, ORIGINAL)
  os.execute("kill -HUP " .. DPID)
end

T.finish(SCRIPT)

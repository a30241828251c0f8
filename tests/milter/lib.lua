-- Shared helpers of the miltertest scripts (loaded with dofile(LIB)). run.sh defines the globals
-- SOCK (milter socket), EVENTS (events.jsonl), CTL (agentgatectl), CFG (its config), LOG (the
-- daemon's log), DPID (its pid), DB (the SQLite registry), KNOWN_BUGS (tags) and LIB.
--
-- miltertest facts this relies on:
--  * a Lua error() is not printed, only the exit status changes: every failure is mt.echo'ed
--    first ("FAIL - ..."), and each case runs under pcall so one broken case does not hide others;
--  * mt.* functions raise on protocol errors, and mt.helo/data/eoh/bodystring raise when the
--    filter negotiated the step away (agentgated drops HELO, DATA, EOH, body and unknown);
--  * MT_SMTPREPLY compares the whole "code xcode text" and only sees end-of-message replies;
--    for MAIL/RCPT only getreply() == SMFIR_REPLYCODE can be checked;
--  * mt.mailfrom flushes the end-of-message requests of the previous message;
--  * mt.eom fills in skipped steps (a default RCPT, a "From: <sender@example.com>" header).
-- Decisions are checked twice: here against the protocol, and by run.sh against events.jsonl
-- through the "EXPECT key=value ..." lines printed by T.expect.

local unpack = table.unpack or unpack

T = { failures = 0, checks = 0 }

local REPLY_NAMES = {
  [SMFIR_CONTINUE] = "CONTINUE", [SMFIR_ACCEPT] = "ACCEPT", [SMFIR_REJECT] = "REJECT",
  [SMFIR_TEMPFAIL] = "TEMPFAIL", [SMFIR_DISCARD] = "DISCARD", [SMFIR_REPLYCODE] = "REPLYCODE",
}
function T.reply_name(r)
  local n = REPLY_NAMES[r]
  if n then return n end
  if r == nil then return "nil" end
  if r == 0 then return "none" end
  return string.format("'%s'(%d)", string.char(math.floor(r)), math.floor(r))
end

T.current = "?"
T.bug = nil -- the KNOWN_BUGS tag of the running case, when it is listed there
T.xfails = 0

function T.fail(msg)
  if T.bug then
    T.xfails = T.xfails + 1
    mt.echo("XFAIL - [" .. T.current .. "] (known bug " .. T.bug .. ") " .. msg)
    return
  end
  T.failures = T.failures + 1
  mt.echo("FAIL - [" .. T.current .. "] " .. msg)
end

function T.ok(cond, msg)
  if cond then
    T.checks = T.checks + 1
    mt.echo("ok " .. T.current .. ": " .. msg)
  else
    T.fail(msg)
  end
  return cond
end

function T.eq(got, want, msg)
  return T.ok(got == want, msg .. (got == want and "" or
    (" (want " .. tostring(want) .. ", got " .. tostring(got) .. ")")))
end

-- A fatal problem in a case: recorded, then the case is abandoned.
function T.die(msg)
  T.fail(msg)
  error("__reported__", 0)
end

-- mt.* functions return nil on success, an error string otherwise.
function T.must(ret, what)
  if ret ~= nil then T.die(what .. " failed: " .. tostring(ret)) end
end

-- Runs one case. A case that asserts the correct behaviour against a reported product bug
-- names the bug (bug_tag); while run.sh lists that tag in KNOWN_BUGS its failures print XFAIL
-- and do not fail the script, and a case that passes anyway prints XPASS (drop the tag then).
function T.case(name, fn, bug_tag)
  T.current = name
  local listed = bug_tag and (" " .. (KNOWN_BUGS or "") .. " "):find(" " .. bug_tag .. " ", 1, true)
  T.bug = listed and bug_tag or nil
  local before = T.xfails
  local ok, err = pcall(fn)
  if not ok and err ~= "__reported__" then
    T.fail("Lua error: " .. tostring(err))
  end
  if T.bug and T.xfails == before then
    mt.echo("XPASS - [" .. name .. "] known bug " .. T.bug .. " no longer shows: remove it from KNOWN_BUGS")
  end
  T.current = "?"
  T.bug = nil
end

function T.finish(script)
  if T.failures > 0 then
    mt.echo(string.format("%d check(s) failed in %s", T.failures, script))
    error(script .. ": " .. T.failures .. " failure(s)")
  end
  mt.echo("DONE " .. script)
end

-- ---------------------------------------------------------------------------------------------
-- SMTP steps

function T.connect(ip)
  local conn = mt.connect(SOCK, 40, 0.05)
  if conn == nil then T.die("cannot connect to " .. SOCK) end
  mt.set_timeout(5)
  T.must(mt.macro(conn, SMFIC_CONNECT, "j", "mt.test", "{daemon_name}", "miltertest"),
         "connect macros")
  T.must(mt.conninfo(conn, "client.example", ip or "192.0.2.10"), "conninfo")
  T.expect_reply(conn, SMFIR_CONTINUE, "connect")
  return conn
end

function T.expect_reply(conn, want, what)
  local got = mt.getreply(conn)
  return T.ok(got == want, what .. " -> " .. T.reply_name(want) ..
    (got == want and "" or (" (got " .. T.reply_name(got) .. ")")))
end

-- MAIL FROM with the MAIL-stage macros an MTA sends: i (queue id, as Sendmail does at MAIL),
-- {auth_authen} and {auth_type} when the client authenticated. The set always replaces the
-- previous message's one, as a real MTA's does. o.args: ESMTP parameters. Returns the reply.
function T.mail(conn, from, o)
  o = o or {}
  local m = { "{mail_mailer}", "esmtp" }
  if o.qid then m[#m + 1] = "i"; m[#m + 1] = o.qid end
  if o.auth then
    m[#m + 1] = "{auth_authen}"; m[#m + 1] = o.auth
    m[#m + 1] = "{auth_type}"; m[#m + 1] = "PLAIN"
  end
  T.must(mt.macro(conn, SMFIC_MAIL, unpack(m)), "MAIL macros")
  T.must(mt.mailfrom(conn, from, unpack(o.args or {})), "MAIL FROM " .. from)
  return mt.getreply(conn)
end

-- RCPT TO; args: ESMTP parameters. Returns the reply.
function T.rcpt(conn, rcpt, args)
  T.must(mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "esmtp"), "RCPT macros")
  T.must(mt.rcptto(conn, rcpt, unpack(args or {})), "RCPT TO " .. rcpt)
  return mt.getreply(conn)
end

-- RCPT that must pass / must be refused with a reply code (agentgated's smfi_setreply).
function T.rcpt_ok(conn, rcpt)
  local r = T.rcpt(conn, rcpt)
  T.ok(r == SMFIR_CONTINUE, "RCPT " .. rcpt .. " -> CONTINUE" ..
    (r == SMFIR_CONTINUE and "" or (" (got " .. T.reply_name(r) .. ")")))
end
function T.rcpt_refused(conn, rcpt)
  local r = T.rcpt(conn, rcpt)
  T.ok(r == SMFIR_REPLYCODE, "RCPT " .. rcpt .. " -> REPLYCODE (refused)" ..
    (r == SMFIR_REPLYCODE and "" or (" (got " .. T.reply_name(r) .. ")")))
end

function T.header(conn, name, value)
  T.must(mt.header(conn, name, value), "header " .. name)
  local r = mt.getreply(conn)
  if r ~= SMFIR_CONTINUE then T.die("header " .. name .. " -> " .. T.reply_name(r)) end
end

function T.headers(conn, list)
  for _, h in ipairs(list) do T.header(conn, h[1], h[2]) end
end

-- End of message, with the EOM-stage macros an MTA sends (Postfix: i, and {auth_authen} when
-- milter_end_of_data_macros or smfi_setsymlist asks for it). Returns the reply.
function T.eom(conn, o)
  o = o or {}
  local m = {}
  if o.qid then m[#m + 1] = "i"; m[#m + 1] = o.qid end
  if o.auth then m[#m + 1] = "{auth_authen}"; m[#m + 1] = o.auth end
  if #m > 0 then T.must(mt.macro(conn, string.byte("E"), unpack(m)), "EOM macros") end
  T.must(mt.eom(conn), "EOM")
  return mt.getreply(conn)
end

-- ---------------------------------------------------------------------------------------------
-- events.jsonl (written by agentgated before it answers, so it is complete when a reply is in)

local function json_unescape(s)
  return (s:gsub('\\u(%x%x%x%x)', function(h)
    local n = tonumber(h, 16)
    return n < 128 and string.char(n) or "?"
  end):gsub('\\(.)', { ['"'] = '"', ['\\'] = '\\', ['/'] = '/', n = '\n', t = '\t', r = '\r' }))
end

-- The event of queue id QID at STAGE ("rcpt" or "eom"), optionally for recipient TO:
-- { id = event.id, action = event.action, detail = event.reason, line = raw JSON }, or nil.
-- Keys are matched in nlohmann's sorted key order; a duplicate match is a failure.
function T.event(qid, stage, to)
  local f = io.open(EVENTS, "r")
  if not f then return nil end
  local found, count = nil, 0
  for line in f:lines() do
    if line:find('"local_id":"' .. qid .. '"', 1, true)
       and line:find('"stage":"' .. stage .. '"', 1, true)
       and (to == nil or line:find('"to":{"address":["' .. to .. '"]}', 1, true)) then
      local ev = line:match('"event":(%b{})')
      if ev then
        found = {
          id = ev:match('"id":"(%x+)"'),
          action = ev:match('"action":"(%a+)"'),
          detail = json_unescape(ev:match('"reason":"(.-)","sequence"') or ""),
          line = line,
        }
        count = count + 1
      end
    end
  end
  f:close()
  if count > 1 then
    T.fail(string.format("%d events for qid %s stage %s", count, qid, stage))
  end
  return found
end

function T.must_event(qid, stage, to)
  local e = T.event(qid, stage, to)
  if not e or not e.id then
    T.die("no " .. stage .. " event with local_id " .. qid .. " in " .. EVENTS)
  end
  return e
end

-- Announces an expectation on the event of qid/stage, checked by run.sh with jq. Keys:
-- stage action reasons (comma list, "none") to from direction identity rcpt_ids untrusted
-- user would mode client subject msgid rule outcome. Values must not contain spaces.
function T.expect(fields)
  local keys = {}
  for k in pairs(fields) do if k ~= "qid" then keys[#keys + 1] = k end end
  table.sort(keys)
  local parts = { "EXPECT", "qid=" .. fields.qid }
  if T.bug then parts[#parts + 1] = "bug=" .. T.bug end
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. tostring(fields[k]) end
  mt.echo(table.concat(parts, " "))
end

function T.expect_none(qid)
  mt.echo("EXPECT_NONE qid=" .. qid .. (T.bug and (" bug=" .. T.bug) or ""))
end

-- ---------------------------------------------------------------------------------------------
-- Checks on the end-of-message outcome

-- The reply text agentgated gives (SPEC 5): "agentgate: CODE: DETAIL (event EVENT-ID)".
function T.reply_text(code, ev)
  return "agentgate: " .. code .. ": " .. ev.detail .. " (event " .. ev.id .. ")"
end

function T.result_header(o)
  return string.format(
    "mt.test; verdict=%s; direction=%s; identity=%s; grant=-; task=-; reasons=%s; " ..
    "trust=%s; mode=%s; event=%s",
    o.header_verdict or o.verdict or "accept", o.direction, o.identity or "-",
    o.reasons or "none", o.trust or "trusted", o.mode or "enforce", o.event)
end

local function no_header_edits(conn, what)
  T.ok(not mt.eom_check(conn, MT_HDRINSERT), what .. ": no header inserted")
  T.ok(not mt.eom_check(conn, MT_HDRADD), what .. ": no header added")
end

-- EOM reply already read into r: a 550 5.7.1 rejection naming CODE, text consistent with the
-- event agentgated logged for QID. Returns the event.
function T.check_eom_reject(conn, r, qid, code)
  T.ok(r == SMFIR_REPLYCODE, "EOM -> REPLYCODE (reject)" ..
    (r == SMFIR_REPLYCODE and "" or (" (got " .. T.reply_name(r) .. ")")))
  local ev = T.must_event(qid, "eom")
  T.eq(ev.action, "reject", "event action")
  local text = T.reply_text(code, ev)
  T.ok(mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1", text), "EOM reply is '550 5.7.1 " .. text .. "'")
  no_header_edits(conn, "rejected message")
  T.ok(not mt.eom_check(conn, MT_QUARANTINE), "rejected message: not quarantined")
  return ev
end

-- EOM reply already read into r: accepted (CONTINUE), quarantined only when o.verdict is
-- "quarantine", exactly one AgentGate-Result inserted at the top with the expected value.
-- o: verdict (the event's action), header_verdict (when it differs: monitor mode), direction,
-- identity, reasons, trust, mode; see T.result_header.
function T.check_eom_accept(conn, r, qid, o)
  T.ok(r == SMFIR_CONTINUE, "EOM -> CONTINUE" ..
    (r == SMFIR_CONTINUE and "" or (" (got " .. T.reply_name(r) .. ")")))
  local ev = T.must_event(qid, "eom")
  T.eq(ev.action, o.verdict or "accept", "event action")
  o.event = ev.id
  local want = T.result_header(o)
  T.ok(mt.eom_check(conn, MT_HDRINSERT, "AgentGate-Result", want, 0),
       "AgentGate-Result inserted at index 0: " .. want)
  T.eq(mt.getheader(conn, "AgentGate-Result", 0), want, "AgentGate-Result value")
  T.eq(mt.getheader(conn, "AgentGate-Result", 1), nil, "only one AgentGate-Result inserted")
  T.ok(not mt.eom_check(conn, MT_HDRADD), "no header appended (smfi_addheader)")
  T.ok(not mt.eom_check(conn, MT_SMTPREPLY, "550"), "no reply code set")
  if (o.verdict or "accept") == "quarantine" then
    local text = T.reply_text(o.reasons:match("^[^,]+"), ev)
    T.ok(mt.eom_check(conn, MT_QUARANTINE, text), "quarantined with reason '" .. text .. "'")
  else
    T.ok(not mt.eom_check(conn, MT_QUARANTINE), "not quarantined")
  end
  return ev
end

-- A message agentgated does not govern: passed untouched (no result header), no event.
function T.check_eom_ungoverned(conn, r, qid)
  T.ok(r == SMFIR_CONTINUE, "EOM -> CONTINUE" ..
    (r == SMFIR_CONTINUE and "" or (" (got " .. T.reply_name(r) .. ")")))
  no_header_edits(conn, "ungoverned message")
  T.ok(not mt.eom_check(conn, MT_QUARANTINE), "ungoverned message: not quarantined")
  T.eq(T.event(qid, "eom"), nil, "no event for an ungoverned message")
  T.expect_none(qid)
end

-- A forged header NAME (instances 1..n) removed: smfi_chgheader(NAME, i, NULL) arrives as a
-- change to an empty value, which miltertest reports under MT_HDRDELETE (and MT_HDRCHANGE "").
-- The index is checked with MT_HDRDELETE (name, index): miltertest 1.6.0's MT_HDRCHANGE takes
-- its index from the value argument, so (name, "", index) cannot match.
function T.check_deleted(conn, name, n)
  for i = 1, n do
    T.ok(mt.eom_check(conn, MT_HDRDELETE, name, i), name .. " #" .. i .. " deleted")
  end
  T.ok(not mt.eom_check(conn, MT_HDRDELETE, name, n + 1), name .. " #" .. (n + 1) .. " not touched")
  if n > 0 then
    T.ok(mt.eom_check(conn, MT_HDRCHANGE, name, ""), name .. ": seen as a change to an empty value")
  end
end

function T.check_no_deletes(conn, what)
  T.ok(not mt.eom_check(conn, MT_HDRDELETE), what .. ": no header deleted")
  T.ok(not mt.eom_check(conn, MT_HDRCHANGE), what .. ": no header changed")
end

-- Runs agentgatectl with the suite's config; true when it exits 0.
function T.ctl(args)
  local cmd = string.format("'%s' -c '%s' %s >/dev/null 2>&1", CTL, CFG, args)
  local ok, how, code = os.execute(cmd)
  if type(ok) == "number" then return ok == 0 end -- Lua 5.1
  return ok == true and how == "exit" and code == 0
end

return T

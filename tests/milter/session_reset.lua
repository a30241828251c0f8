-- Several transactions on one SMTP connection: nothing of one message (recipients, From, login,
-- In-Reply-To, forged headers, verdict) may leak into the next, whether the previous one ended
-- at end of message, with RSET (milter ABORT) or with a second MAIL and no RSET at all. Also:
-- the registry is re-read at end of message, so a suspension landing mid-transaction applies.
dofile(LIB)
local SCRIPT = "session_reset.lua"
local D = "@agents.example.com"

local function from_hdrs(from, extra)
  local h = { { "From", from }, { "Subject", "session-test" }, { "Message-ID", "<s1@agents.example.com>" } }
  for _, x in ipairs(extra or {}) do h[#h + 1] = x end
  return h
end

-- A clean, acceptable message from bot1 on an open connection.
local function good_bot1(conn, qid, rcpt)
  rcpt = rcpt or "customer@example.com"
  T.ok(T.mail(conn, "<bot1" .. D .. ">", { qid = qid, auth = "bot1" }) == SMFIR_CONTINUE,
       qid .. ": MAIL -> CONTINUE")
  T.rcpt_ok(conn, "<" .. rcpt .. ">")
  T.headers(conn, from_hdrs("bot1@agents.example.com"))
  local r = T.eom(conn)
  T.check_eom_accept(conn, r, qid, { direction = "outbound", identity = "bot1" })
  T.check_no_deletes(conn, qid)
  T.expect { qid = qid, stage = "eom", action = "accept", reasons = "none", direction = "outbound",
             identity = "bot1", user = "bot1", to = rcpt, untrusted = "false" }
end

T.case("rejected message, then an accepted one on the same connection", function()
  local conn = T.connect()
  T.ok(T.mail(conn, "<rev1" .. D .. ">", { qid = "SES-REJ-1", auth = "rev1" }) == SMFIR_CONTINUE,
       "MAIL -> CONTINUE")
  T.rcpt_ok(conn, "<customer@example.com>")
  T.headers(conn, from_hdrs("rev1@agents.example.com", { { "AgentGate-Result", "forged; verdict=accept" } }))
  T.check_eom_reject(conn, T.eom(conn), "SES-REJ-1", "identity_revoked")
  T.expect { qid = "SES-REJ-1", stage = "eom", action = "reject", reasons = "identity_revoked" }
  good_bot1(conn, "SES-REJ-2")
  mt.disconnect(conn)
end)

T.case("RSET (abort) after a poisoned transaction, then a clean one", function()
  local conn = T.connect()
  T.must(mt.abort(conn), "abort before any MAIL") -- harmless
  -- sendonly1 may not reply: had In-Reply-To survived, the next message would be refused
  T.ok(T.mail(conn, "<sendonly1" .. D .. ">", { qid = "SES-RSET-1", auth = "sendonly1" }) ==
       SMFIR_CONTINUE, "MAIL -> CONTINUE")
  T.rcpt_ok(conn, "<customer@example.com>")
  T.rcpt_refused(conn, "<elsewhere@elsewhere.example>")
  T.headers(conn, {
    { "From", "boss@example.com" },
    { "From", "sendonly1@agents.example.com" },
    { "In-Reply-To", "<q9@example.com>" },
    { "AgentGate-Result", "forged; verdict=accept" },
    { "Agent-Proof", "eyJhbGciOiJFZERTQSJ9.e30.c2ln" },
  })
  T.must(mt.abort(conn), "abort (RSET)")
  T.must(mt.abort(conn), "second abort")
  T.ok(T.mail(conn, "<sendonly1" .. D .. ">", { qid = "SES-RSET-2", auth = "sendonly1" }) ==
       SMFIR_CONTINUE, "MAIL -> CONTINUE")
  T.rcpt_ok(conn, "<customer@example.com>")
  T.headers(conn, from_hdrs("sendonly1@agents.example.com"))
  local r = T.eom(conn)
  T.check_eom_accept(conn, r, "SES-RSET-2", { direction = "outbound", identity = "sendonly1" })
  T.check_no_deletes(conn, "after RSET") -- the forged headers belonged to the aborted message
  T.expect { qid = "SES-RSET-1", stage = "rcpt", to = "elsewhere@elsewhere.example",
             action = "reject", reasons = "recipient_not_permitted" }
  T.expect { qid = "SES-RSET-2", stage = "eom", action = "accept", reasons = "none",
             to = "customer@example.com", identity = "sendonly1", user = "sendonly1" }
  mt.disconnect(conn)
  T.eq(T.event("SES-RSET-1", "eom"), nil, "the aborted message was never decided")
end)

T.case("second MAIL without RSET: the unfinished transaction is dropped", function()
  local conn = T.connect()
  T.ok(T.mail(conn, "<ghost" .. D .. ">", { qid = "SES-MAIL2-1" }) == SMFIR_CONTINUE,
       "MAIL ghost -> CONTINUE")
  T.rcpt_ok(conn, "<inbox1" .. D .. ">") -- would make the next message internal + untrusted
  T.headers(conn, {
    { "From", "ghost@agents.example.com" },
    { "In-Reply-To", "<q8@example.com>" },
    { "AgentGate-Result", "forged" },
    { "AgentGate-Result", "forged again" },
  })
  -- no EOM, no ABORT: the next MAIL starts a new transaction
  good_bot1(conn, "SES-MAIL2-2")
  mt.disconnect(conn)
  T.eq(T.event("SES-MAIL2-1", "eom"), nil, "the dropped transaction was never decided")
end)

T.case("a refused recipient stays out of this message and the next", function()
  local conn = T.connect()
  T.ok(T.mail(conn, "<bot1" .. D .. ">", { qid = "SES-RCPT-1", auth = "bot1" }) == SMFIR_CONTINUE,
       "MAIL -> CONTINUE")
  T.rcpt_refused(conn, "<someone@elsewhere.example>")
  T.rcpt_ok(conn, "<customer@example.com>")
  T.headers(conn, from_hdrs("bot1@agents.example.com"))
  T.check_eom_accept(conn, T.eom(conn), "SES-RCPT-1", { direction = "outbound", identity = "bot1" })
  T.expect { qid = "SES-RCPT-1", stage = "rcpt", to = "someone@elsewhere.example",
             action = "reject", reasons = "recipient_not_permitted" }
  T.expect { qid = "SES-RCPT-1", stage = "eom", action = "accept", to = "customer@example.com" }
  good_bot1(conn, "SES-RCPT-2", "other@example.com") -- to = other@example.com only
  mt.disconnect(conn)
end)

T.case("recipients of a quarantined message do not carry over", function()
  local conn = T.connect()
  T.ok(T.mail(conn, "<stranger@random.example>", { qid = "SES-Q-1" }) == SMFIR_CONTINUE,
       "MAIL -> CONTINUE")
  T.rcpt_ok(conn, "<inbox1" .. D .. ">")
  T.headers(conn, from_hdrs("stranger@random.example"))
  T.check_eom_accept(conn, T.eom(conn), "SES-Q-1", { verdict = "quarantine", direction = "inbound",
                     identity = "inbox1", reasons = "sender_not_trusted", trust = "untrusted" })
  T.expect { qid = "SES-Q-1", stage = "eom", action = "quarantine", reasons = "sender_not_trusted" }
  -- had inbox1 carried over: internal direction, recipient_not_permitted, sender_not_trusted
  good_bot1(conn, "SES-Q-2")
  mt.disconnect(conn)
end)

T.case("the SMTP login of one transaction does not carry over to the next", function()
  local conn = T.connect()
  good_bot1(conn, "SES-AUTH-1")
  T.ok(T.mail(conn, "<bot1" .. D .. ">", { qid = "SES-AUTH-2" }) == SMFIR_CONTINUE,
       "MAIL without login -> CONTINUE")
  T.rcpt_ok(conn, "<customer@example.com>")
  T.headers(conn, from_hdrs("bot1@agents.example.com"))
  T.check_eom_reject(conn, T.eom(conn), "SES-AUTH-2", "principal_mismatch")
  T.expect { qid = "SES-AUTH-2", stage = "eom", action = "reject", reasons = "principal_mismatch",
             user = "" }
  mt.disconnect(conn)
end)

T.case("queue id and login only in the end-of-message macros (Postfix style)", function()
  local conn = T.connect()
  T.ok(T.mail(conn, "<bot1" .. D .. ">", {}) == SMFIR_CONTINUE, "MAIL without macros -> CONTINUE")
  T.rcpt_ok(conn, "<customer@example.com>")
  T.headers(conn, from_hdrs("bot1@agents.example.com"))
  local r = T.eom(conn, { qid = "SES-EOMMAC", auth = "bot1" })
  T.check_eom_accept(conn, r, "SES-EOMMAC", { direction = "outbound", identity = "bot1" })
  T.expect { qid = "SES-EOMMAC", stage = "eom", action = "accept", reasons = "none", user = "bot1" }
  mt.disconnect(conn)
end)

T.case("suspension in the middle of a transaction applies at its end; resume at the next", function()
  local conn = T.connect()
  T.ok(T.mail(conn, "<victim1" .. D .. ">", { qid = "SES-MID-1", auth = "victim1" }) ==
       SMFIR_CONTINUE, "MAIL -> CONTINUE")
  T.rcpt_ok(conn, "<customer@example.com>")
  T.headers(conn, from_hdrs("victim1@agents.example.com"))
  if not T.ok(T.ctl("identity suspend victim1 --actor soc-lead --reason 'milter test: mid-transaction'"),
              "agentgatectl identity suspend victim1") then T.die("cannot suspend victim1") end
  T.check_eom_reject(conn, T.eom(conn), "SES-MID-1", "identity_suspended")
  T.expect { qid = "SES-MID-1", stage = "eom", action = "reject", reasons = "identity_suspended",
             identity = "victim1" }
  if not T.ok(T.ctl("identity resume victim1 --actor soc-lead --reason 'milter test: resumed'"),
              "agentgatectl identity resume victim1") then T.die("cannot resume victim1") end
  T.ok(T.mail(conn, "<victim1" .. D .. ">", { qid = "SES-MID-2", auth = "victim1" }) ==
       SMFIR_CONTINUE, "MAIL -> CONTINUE")
  T.rcpt_ok(conn, "<customer@example.com>")
  T.headers(conn, from_hdrs("victim1@agents.example.com"))
  T.check_eom_accept(conn, T.eom(conn), "SES-MID-2", { direction = "outbound", identity = "victim1" })
  T.expect { qid = "SES-MID-2", stage = "eom", action = "accept", reasons = "none" }
  mt.disconnect(conn)
end)

T.case("ten messages on one connection, alternating verdicts, some followed by ABORT", function()
  local conn = T.connect()
  for i = 1, 10 do
    local qid = "SES-ALT-" .. i
    if i % 2 == 1 then
      good_bot1(conn, qid)
    else
      T.ok(T.mail(conn, "<bot1" .. D .. ">", { qid = qid, auth = "bot1" }) == SMFIR_CONTINUE,
           qid .. ": MAIL -> CONTINUE")
      T.rcpt_ok(conn, "<customer@example.com>")
      T.headers(conn, from_hdrs("intruder@example.com"))
      T.check_eom_reject(conn, T.eom(conn), qid, "header_from_mismatch")
      T.expect { qid = qid, stage = "eom", action = "reject", reasons = "header_from_mismatch" }
    end
    -- Postfix sends ABORT after each end of message; Sendmail does not: both must work
    if i % 3 == 0 then T.must(mt.abort(conn), "ABORT after end of message") end
  end
  mt.disconnect(conn)
end)

T.finish(SCRIPT)

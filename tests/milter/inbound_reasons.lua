-- Inbound decisions (SPEC 5): mail to agent inboxes. Per-recipient problems (unknown, inactive or
-- receive-less inbox) are refused at RCPT, leaving the other recipients alone; a sender outside
-- an inbox's accept_from is quarantined at end of message and marked untrusted in
-- AgentGate-Result.
dofile(LIB)
local SCRIPT = "inbound_reasons.lua"
local D = "@agents.example.com"

local function headers(from, to)
  return {
    { "From", from },
    { "To", to },
    { "Subject", "inbound-test" },
    { "Message-ID", "<in1@example.net>" },
  }
end

-- One inbound transaction; rcpts is a list of { address, "ok" | "refused" }.
local function inbound(qid, sender, rcpts, hdr_from)
  local conn = T.connect("198.51.100.7")
  T.ok(T.mail(conn, "<" .. sender .. ">", { qid = qid }) == SMFIR_CONTINUE, "MAIL -> CONTINUE")
  for _, rc in ipairs(rcpts) do
    if rc[2] == "ok" then T.rcpt_ok(conn, "<" .. rc[1] .. ">")
    else T.rcpt_refused(conn, "<" .. rc[1] .. ">") end
  end
  T.headers(conn, headers(hdr_from or (sender ~= "" and sender or "MAILER-DAEMON@example.net"),
                          rcpts[1][1]))
  return conn, T.eom(conn)
end

T.case("accepted: trusted sender (in accept_from) to an active receive-only inbox", function()
  local conn, r = inbound("IN-TRUSTED", "billing@partner.example", { { "inbox1" .. D, "ok" } })
  T.check_eom_accept(conn, r, "IN-TRUSTED", { direction = "inbound", identity = "inbox1" })
  T.expect { qid = "IN-TRUSTED", stage = "eom", action = "accept", reasons = "none",
             direction = "inbound", identity = "", rcpt_ids = "inbox1", untrusted = "false",
             from = "billing@partner.example", to = "inbox1" .. D, client = "198.51.100.7",
             subject = "inbound-test", msgid = "<in1@example.net>" }
  mt.disconnect(conn)
end)

T.case("sender_not_trusted: quarantined, marked untrusted", function()
  local conn, r = inbound("IN-UNTRUSTED", "stranger@random.example", { { "inbox1" .. D, "ok" } })
  T.check_eom_accept(conn, r, "IN-UNTRUSTED", { verdict = "quarantine", direction = "inbound",
                     identity = "inbox1", reasons = "sender_not_trusted", trust = "untrusted" })
  T.expect { qid = "IN-UNTRUSTED", stage = "eom", action = "quarantine", outcome = "failure",
             reasons = "sender_not_trusted", rule = "sender_not_trusted", direction = "inbound",
             rcpt_ids = "inbox1", untrusted = "true", would = "quarantine",
             from = "stranger@random.example" }
  mt.disconnect(conn)
end)

T.case("sender_not_trusted: null sender (bounce) to an agent inbox", function()
  local conn, r = inbound("IN-BOUNCE", "", { { "inbox1" .. D, "ok" } })
  T.check_eom_accept(conn, r, "IN-BOUNCE", { verdict = "quarantine", direction = "inbound",
                     identity = "inbox1", reasons = "sender_not_trusted", trust = "untrusted" })
  T.expect { qid = "IN-BOUNCE", stage = "eom", action = "quarantine",
             reasons = "sender_not_trusted", direction = "inbound", from = "", untrusted = "true" }
  mt.disconnect(conn)
end)

T.case("sender_not_trusted by one of two agent recipients: whole message quarantined", function()
  -- user@example.com is trusted by bot1 (@example.com) but not by inbox1 (@partner.example)
  local conn, r = inbound("IN-HALF", "user@example.com",
                          { { "bot1" .. D, "ok" }, { "inbox1" .. D, "ok" } })
  T.check_eom_accept(conn, r, "IN-HALF", { verdict = "quarantine", direction = "inbound",
                     identity = "bot1,inbox1", reasons = "sender_not_trusted",
                     trust = "untrusted" })
  T.expect { qid = "IN-HALF", stage = "eom", action = "quarantine", reasons = "sender_not_trusted",
             rcpt_ids = "bot1,inbox1", to = "bot1" .. D .. ",inbox1" .. D, untrusted = "true" }
  mt.disconnect(conn)
end)

-- Per-recipient refusals: each one alone in its transaction, then the message (with nobody
-- left) is not sent on; the event is checked through EXPECT.
local function refused_rcpt(qid, rcpt, reason, rcpt_id)
  local conn = T.connect("198.51.100.7")
  T.ok(T.mail(conn, "<billing@partner.example>", { qid = qid }) == SMFIR_CONTINUE,
       "MAIL -> CONTINUE")
  T.rcpt_refused(conn, "<" .. rcpt .. ">")
  local ev = T.event(qid, "rcpt", rcpt)
  T.ok(ev ~= nil and ev.action == "reject", "rcpt event logged with action reject")
  T.expect { qid = qid, stage = "rcpt", to = rcpt, action = "reject", outcome = "failure",
             reasons = reason, rule = reason, direction = "inbound", identity = "",
             rcpt_ids = rcpt_id, from = "billing@partner.example", client = "198.51.100.7",
             would = "reject" }
  T.must(mt.abort(conn), "abort")
  mt.disconnect(conn)
end

T.case("inbox_inactive: suspended inbox", function()
  refused_rcpt("IN-SUSP", "susp1" .. D, "inbox_inactive", "susp1")
end)
T.case("inbox_inactive: revoked inbox", function()
  refused_rcpt("IN-REV", "rev1" .. D, "inbox_inactive", "rev1")
end)
T.case("inbox_inactive: expired inbox", function()
  refused_rcpt("IN-EXP", "exp1" .. D, "inbox_inactive", "exp1")
end)
T.case("inbox_inactive: pending (requested) inbox", function()
  refused_rcpt("IN-PENDING", "pending1" .. D, "inbox_inactive", "pending1")
end)
T.case("inbox_inactive: rejected request", function()
  refused_rcpt("IN-REJECTED", "rejected1" .. D, "inbox_inactive", "rejected1")
end)
T.case("inbox_receive_not_permitted: send-only identity", function()
  refused_rcpt("IN-NORECV", "sendonly1" .. D, "inbox_receive_not_permitted", "sendonly1")
end)
T.case("unknown_agent_recipient: unregistered mailbox in the agent domain", function()
  refused_rcpt("IN-UNKNOWN", "nobody" .. D, "unknown_agent_recipient", "")
end)

T.case("mixed recipients: refused ones drop out, the message is decided on the rest", function()
  local conn, r = inbound("IN-MIXED", "billing@partner.example", {
    { "nobody" .. D, "refused" },
    { "inbox1" .. D, "ok" },
    { "susp1" .. D, "refused" },
    { "someone@example.com", "ok" }, -- not governed: passes
    { "sendonly1" .. D, "refused" },
  })
  T.check_eom_accept(conn, r, "IN-MIXED", { direction = "inbound", identity = "inbox1" })
  T.expect { qid = "IN-MIXED", stage = "rcpt", to = "nobody" .. D, action = "reject",
             reasons = "unknown_agent_recipient" }
  T.expect { qid = "IN-MIXED", stage = "rcpt", to = "susp1" .. D, action = "reject",
             reasons = "inbox_inactive", rcpt_ids = "susp1" }
  T.expect { qid = "IN-MIXED", stage = "rcpt", to = "sendonly1" .. D, action = "reject",
             reasons = "inbox_receive_not_permitted", rcpt_ids = "sendonly1" }
  T.expect { qid = "IN-MIXED", stage = "eom", action = "accept", reasons = "none",
             direction = "inbound", to = "inbox1" .. D .. ",someone@example.com",
             rcpt_ids = "inbox1" }
  mt.disconnect(conn)
end)

T.case("recipient address case does not matter", function()
  local conn, r = inbound("IN-CASE", "billing@partner.example", { { "inbox1@Agents.EXAMPLE.com", "ok" } })
  T.check_eom_accept(conn, r, "IN-CASE", { direction = "inbound", identity = "inbox1" })
  T.expect { qid = "IN-CASE", stage = "eom", action = "accept", to = "inbox1" .. D }
  mt.disconnect(conn)
end)

T.finish(SCRIPT)

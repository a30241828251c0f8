-- Outbound decisions (SPEC 5): mail whose envelope sender is in the agent domain. Every reason
-- code an outbound message can earn without an Agent-Proof (require_proof = false), each on its
-- own connection; whole-message problems are refused at end of message with
-- "550 5.7.1 agentgate: CODE: ... (event ID)", per-recipient ones at RCPT.
dofile(LIB)
local SCRIPT = "outbound_reasons.lua"
local D = "@agents.example.com"

-- One outbound message: MAIL FROM <id@agents...> (auth = SASL login or nil), RCPT customer,
-- the given headers, end of message. Returns conn, EOM reply.
local function send(qid, sender, auth, headers, rcpts)
  local conn = T.connect()
  local r = T.mail(conn, "<" .. sender .. ">", { qid = qid, auth = auth })
  T.ok(r == SMFIR_CONTINUE, "MAIL FROM " .. sender .. " -> CONTINUE (decided later)")
  for _, rc in ipairs(rcpts or { "customer@example.com" }) do T.rcpt_ok(conn, "<" .. rc .. ">") end
  T.headers(conn, headers)
  return conn, T.eom(conn)
end

local function std_headers(from, extra)
  local h = {
    { "From", from },
    { "To", "customer@example.com" },
    { "Subject", "milter-test" },
    { "Date", "Sat, 28 Nov 2026 10:00:00 +0000" },
    { "Message-ID", "<m1@agents.example.com>" },
  }
  for _, x in ipairs(extra or {}) do h[#h + 1] = x end
  return h
end

-- A rejected outbound message: reply text, event and its fields.
local function rejected(qid, sender, auth, headers, reasons, identity)
  local conn, r = send(qid, sender, auth, headers)
  T.check_eom_reject(conn, r, qid, reasons:match("^[^,]+"))
  T.expect { qid = qid, stage = "eom", action = "reject", outcome = "failure", reasons = reasons,
             rule = reasons:match("^[^,]+"), direction = "outbound", identity = identity or "",
             from = sender, to = "customer@example.com", user = auth or "", would = "reject" }
  mt.disconnect(conn)
end

T.case("accepted: active identity, its own login, From = envelope, permitted target", function()
  local conn, r = send("OUT-ACCEPT", "bot1" .. D, "bot1",
                       std_headers("Bot One <bot1@agents.example.com>"))
  T.check_eom_accept(conn, r, "OUT-ACCEPT", { direction = "outbound", identity = "bot1" })
  T.expect { qid = "OUT-ACCEPT", stage = "eom", action = "accept", outcome = "success",
             reasons = "none", rule = "none", direction = "outbound", identity = "bot1",
             user = "bot1", from = "bot1" .. D, to = "customer@example.com",
             subject = "milter-test", msgid = "<m1@agents.example.com>", client = "192.0.2.10",
             untrusted = "false", mode = "enforce", would = "accept" }
  mt.disconnect(conn)
end)

T.case("accepted: a reply (In-Reply-To) from an identity allowed to reply", function()
  local conn, r = send("OUT-REPLY", "bot1" .. D, "bot1",
                       std_headers("bot1@agents.example.com",
                                   { { "In-Reply-To", "<q1@example.com>" } }))
  T.check_eom_accept(conn, r, "OUT-REPLY", { direction = "outbound", identity = "bot1" })
  T.expect { qid = "OUT-REPLY", stage = "eom", action = "accept", reasons = "none" }
  mt.disconnect(conn)
end)

T.case("accepted: several permitted recipients", function()
  local conn, r = send("OUT-MULTI", "bot1" .. D, "bot1", std_headers("bot1@agents.example.com"),
                       { "a@example.com", "b@example.com" })
  T.check_eom_accept(conn, r, "OUT-MULTI", { direction = "outbound", identity = "bot1" })
  T.expect { qid = "OUT-MULTI", stage = "eom", action = "accept", to = "a@example.com,b@example.com" }
  mt.disconnect(conn)
end)

T.case("accepted: envelope and From differ only in the domain's case", function()
  local conn = T.connect()
  T.ok(T.mail(conn, "<bot1@AGENTS.Example.COM>", { qid = "OUT-CASE", auth = "bot1" }) ==
       SMFIR_CONTINUE, "MAIL -> CONTINUE")
  T.rcpt_ok(conn, "<customer@EXAMPLE.com>")
  T.headers(conn, std_headers("bot1@Agents.Example.Com"))
  local r = T.eom(conn)
  T.check_eom_accept(conn, r, "OUT-CASE", { direction = "outbound", identity = "bot1" })
  T.expect { qid = "OUT-CASE", stage = "eom", action = "accept", from = "bot1" .. D,
             to = "customer@example.com" }
  mt.disconnect(conn)
end)

-- {cert_subject} belongs to the HELO stage. agentgated skips HELO (SMFIP_NOHELO), but Postfix
-- and Sendmail still send a skipped stage's macros, and libmilter keeps them for MAIL.
local function cert_message(qid, subject)
  local conn = T.connect()
  T.must(mt.macro(conn, SMFIC_HELO, "{tls_version}", "TLSv1.3", "{cert_subject}", subject,
                  "{cert_issuer}", "CN=Example CA"), "HELO macros")
  T.ok(T.mail(conn, "<certbot1" .. D .. ">", { qid = qid }) == SMFIR_CONTINUE, "MAIL -> CONTINUE")
  T.rcpt_ok(conn, "<customer@example.com>")
  T.headers(conn, std_headers("certbot1@agents.example.com"))
  return conn, T.eom(conn)
end

T.case("accepted: identity bound to a client certificate subject", function()
  local conn, r = cert_message("OUT-CERT", "CN=certbot1,O=Example Corp")
  T.check_eom_accept(conn, r, "OUT-CERT", { direction = "outbound", identity = "certbot1" })
  T.expect { qid = "OUT-CERT", stage = "eom", action = "accept", reasons = "none", user = "" }
  mt.disconnect(conn)
end)

T.case("principal_mismatch: another certificate subject", function()
  local conn, r = cert_message("OUT-CERT-BAD", "CN=certbot1,O=Evil Corp")
  T.check_eom_reject(conn, r, "OUT-CERT-BAD", "principal_mismatch")
  T.expect { qid = "OUT-CERT-BAD", stage = "eom", action = "reject", reasons = "principal_mismatch",
             identity = "certbot1" }
  mt.disconnect(conn)
end)

T.case("unknown_agent_sender: unregistered mailbox in the agent domain", function()
  rejected("OUT-UNKNOWN", "ghost" .. D, nil, std_headers("ghost@agents.example.com"),
           "unknown_agent_sender", "")
end)

T.case("identity_pending: requested, never approved", function()
  rejected("OUT-PENDING", "pending1" .. D, "pending1", std_headers("pending1@agents.example.com"),
           "identity_pending", "pending1")
end)

T.case("identity_suspended", function()
  rejected("OUT-SUSP", "susp1" .. D, "susp1", std_headers("susp1@agents.example.com"),
           "identity_suspended", "susp1")
end)

T.case("identity_revoked", function()
  rejected("OUT-REV", "rev1" .. D, "rev1", std_headers("rev1@agents.example.com"),
           "identity_revoked", "rev1")
end)

T.case("identity_expired: expires_at in the past", function()
  rejected("OUT-EXP", "exp1" .. D, "exp1", std_headers("exp1@agents.example.com"),
           "identity_expired", "exp1")
end)

T.case("identity_rejected: request refused by its owner", function()
  rejected("OUT-REJECTED", "rejected1" .. D, "rejected1",
           std_headers("rejected1@agents.example.com"), "identity_rejected", "rejected1")
end)

T.case("principal_mismatch: no SMTP AUTH at all", function()
  rejected("OUT-NOAUTH", "bot1" .. D, nil, std_headers("bot1@agents.example.com"),
           "principal_mismatch", "bot1")
end)

T.case("principal_mismatch: another login uses the identity's address", function()
  rejected("OUT-WRONGAUTH", "bot1" .. D, "mallory", std_headers("bot1@agents.example.com"),
           "principal_mismatch", "bot1")
end)

T.case("principal_mismatch: the login of another identity", function()
  rejected("OUT-OTHERID", "bot1" .. D, "sendonly1", std_headers("bot1@agents.example.com"),
           "principal_mismatch", "bot1")
end)

T.case("header_from_mismatch: From names another agent", function()
  rejected("OUT-FROM-OTHER", "bot1" .. D, "bot1", std_headers("sendonly1@agents.example.com"),
           "header_from_mismatch", "bot1")
end)

T.case("header_from_mismatch: From lists a second mailbox", function()
  rejected("OUT-FROM-TWO", "bot1" .. D, "bot1",
           std_headers("bot1@agents.example.com, boss@example.com"), "header_from_mismatch", "bot1")
end)

T.case("header_from_mismatch: two From fields", function()
  local h = std_headers("bot1@agents.example.com")
  h[#h + 1] = { "From", "bot1@agents.example.com" }
  rejected("OUT-FROM-DUP", "bot1" .. D, "bot1", h, "header_from_mismatch", "bot1")
end)

T.case("header_from_mismatch: no From field", function()
  rejected("OUT-FROM-NONE", "bot1" .. D, "bot1",
           { { "Subject", "milter-test" }, { "Message-ID", "<m1@agents.example.com>" } },
           "header_from_mismatch", "bot1")
end)

T.case("header_from_mismatch: empty From field", function()
  rejected("OUT-FROM-EMPTY", "bot1" .. D, "bot1", std_headers(""), "header_from_mismatch", "bot1")
end)

T.case("action_not_permitted: a reply from a send-only identity", function()
  rejected("OUT-ACTION", "sendonly1" .. D, "sendonly1",
           std_headers("sendonly1@agents.example.com", { { "In-Reply-To", "<q2@example.com>" } }),
           "action_not_permitted", "sendonly1")
end)

T.case("several findings: reasons in check order, the first one in the reply", function()
  rejected("OUT-TWO-REASONS", "bot1" .. D, "mallory", std_headers("boss@example.com"),
           "principal_mismatch,header_from_mismatch", "bot1")
end)

T.case("a '%' in the reply text is doubled, as smfi_setreply requires", function()
  local conn, r = send("OUT-PERCENT", "a%b" .. D, nil, std_headers("a%b@agents.example.com"))
  T.ok(r == SMFIR_REPLYCODE, "EOM -> REPLYCODE (reject)")
  local ev = T.must_event("OUT-PERCENT", "eom")
  T.ok(ev.detail:find("a%b@", 1, true) ~= nil, "event detail keeps the single '%'")
  local text = T.reply_text("unknown_agent_sender", ev):gsub("%%", "%%%%")
  T.ok(mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1", text), "EOM reply is '550 5.7.1 " .. text .. "'")
  T.expect { qid = "OUT-PERCENT", stage = "eom", action = "reject",
             reasons = "unknown_agent_sender", from = "a%b" .. D }
  mt.disconnect(conn)
end)

T.case("recipient_not_permitted: refused at RCPT, the others go through", function()
  local conn = T.connect()
  T.ok(T.mail(conn, "<bot1" .. D .. ">", { qid = "OUT-RCPT", auth = "bot1" }) == SMFIR_CONTINUE,
       "MAIL -> CONTINUE")
  T.rcpt_refused(conn, "<someone@elsewhere.example>")
  T.rcpt_ok(conn, "<customer@example.com>")
  T.rcpt_refused(conn, "<inbox1" .. D .. ">") -- an agent inbox is not a target of bot1 either
  T.headers(conn, std_headers("bot1@agents.example.com"))
  local r = T.eom(conn)
  T.check_eom_accept(conn, r, "OUT-RCPT", { direction = "outbound", identity = "bot1" })
  T.expect { qid = "OUT-RCPT", stage = "rcpt", to = "someone@elsewhere.example",
             action = "reject", reasons = "recipient_not_permitted", direction = "outbound",
             identity = "bot1", user = "bot1", from = "bot1" .. D }
  T.expect { qid = "OUT-RCPT", stage = "rcpt", to = "inbox1" .. D, action = "reject",
             reasons = "recipient_not_permitted", direction = "outbound", identity = "bot1" }
  -- the refused recipients are not part of the message decided at its end
  T.expect { qid = "OUT-RCPT", stage = "eom", action = "accept", reasons = "none",
             to = "customer@example.com", direction = "outbound" }
  mt.disconnect(conn)
end)

T.case("not governed: ordinary sender and recipients pass untouched", function()
  local conn, r = send("OUT-PLAIN", "alice@example.com", nil, std_headers("alice@example.com"),
                       { "bob@example.org" })
  T.check_eom_ungoverned(conn, r, "OUT-PLAIN")
  mt.disconnect(conn)
end)

T.finish(SCRIPT)

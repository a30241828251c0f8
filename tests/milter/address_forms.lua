-- Address forms: what is and is not the same mailbox. ESMTP parameters are not part of an
-- address; RFC 5322 display names, comments and folding around the sender's own address in From
-- are fine, but a From that shows the agent's address while naming another mailbox is not.
-- A trailing dot on the domain (<x@agents.example.com.>) names the same mailbox to the MTA
-- (Postfix strips it when it rewrites and resolves the address), so it must not escape the
-- agent-domain rules: those cases carry the known-bug tag "trailing-dot-domain" (see run.sh).
dofile(LIB)
local SCRIPT = "address_forms.lua"
local D = "@agents.example.com"

T.case("ESMTP parameters on MAIL and RCPT are not part of the address", function()
  local conn = T.connect()
  T.ok(T.mail(conn, "<bot1" .. D .. ">", { qid = "ADR-ESMTP", auth = "bot1",
                                          args = { "SIZE=1000", "BODY=8BITMIME" } }) ==
       SMFIR_CONTINUE, "MAIL with SIZE and BODY -> CONTINUE")
  local r = T.rcpt(conn, "<customer@example.com>", { "NOTIFY=NEVER", "ORCPT=rfc822;customer@example.com" })
  T.ok(r == SMFIR_CONTINUE, "RCPT with NOTIFY and ORCPT -> CONTINUE")
  T.headers(conn, { { "From", "bot1@agents.example.com" } })
  T.check_eom_accept(conn, T.eom(conn), "ADR-ESMTP", { direction = "outbound", identity = "bot1" })
  T.expect { qid = "ADR-ESMTP", stage = "eom", action = "accept", from = "bot1" .. D,
             to = "customer@example.com" }
  mt.disconnect(conn)
end)

local function from_case(conn, qid, from_value)
  T.ok(T.mail(conn, "<bot1" .. D .. ">", { qid = qid, auth = "bot1" }) == SMFIR_CONTINUE,
       qid .. ": MAIL -> CONTINUE")
  T.rcpt_ok(conn, "<customer@example.com>")
  T.headers(conn, { { "From", from_value }, { "Subject", "address-forms" } })
  return T.eom(conn)
end

T.case("From forms naming the envelope sender are accepted", function()
  local conn = T.connect()
  local forms = {
    { "ADR-FROM-QUOTED", '"Bot, One" <bot1@agents.example.com>' },
    { "ADR-FROM-COMMENT", "bot1@agents.example.com (Bot One)" },
    { "ADR-FROM-FOLDED", "Bot One\r\n <bot1@agents.example.com>" },
    { "ADR-FROM-ANGLE", "<bot1@agents.example.com>" },
  }
  for _, f in ipairs(forms) do
    T.check_eom_accept(conn, from_case(conn, f[1], f[2]), f[1],
                       { direction = "outbound", identity = "bot1" })
    T.expect { qid = f[1], stage = "eom", action = "accept", reasons = "none" }
  end
  mt.disconnect(conn)
end)

T.case("From forms that show the agent's address but name another mailbox are refused", function()
  local conn = T.connect()
  local forms = {
    { "ADR-SPOOF-QUOTED", '"bot1@agents.example.com" <boss@example.com>' },
    { "ADR-SPOOF-COMMENT", "boss@example.com (bot1@agents.example.com)" },
    { "ADR-SPOOF-NAME", "bot1@agents.example.com <boss@example.com>" },
    { "ADR-SPOOF-GROUP", "Team: bot1@agents.example.com, boss@example.com;" },
  }
  for _, f in ipairs(forms) do
    T.check_eom_reject(conn, from_case(conn, f[1], f[2]), f[1], "header_from_mismatch")
    T.expect { qid = f[1], stage = "eom", action = "reject", reasons = "header_from_mismatch" }
  end
  mt.disconnect(conn)
end)

-- Trailing dot on the domain ------------------------------------------------------------------

T.case("trailing dot: RCPT to a suspended inbox is still refused", function()
  local conn = T.connect()
  T.ok(T.mail(conn, "<billing@partner.example>", { qid = "ADR-DOT-SUSP" }) == SMFIR_CONTINUE, "MAIL")
  T.rcpt_refused(conn, "<susp1@agents.example.com.>")
  T.expect { qid = "ADR-DOT-SUSP", stage = "rcpt", action = "reject", reasons = "inbox_inactive",
             rcpt_ids = "susp1" }
  T.must(mt.abort(conn), "abort")
  mt.disconnect(conn)
end, "trailing-dot-domain")

T.case("trailing dot: RCPT to an unregistered agent mailbox is still refused", function()
  local conn = T.connect()
  T.ok(T.mail(conn, "<billing@partner.example>", { qid = "ADR-DOT-GHOST" }) == SMFIR_CONTINUE, "MAIL")
  T.rcpt_refused(conn, "<ghost@agents.example.com.>")
  T.expect { qid = "ADR-DOT-GHOST", stage = "rcpt", action = "reject",
             reasons = "unknown_agent_recipient" }
  T.must(mt.abort(conn), "abort")
  mt.disconnect(conn)
end, "trailing-dot-domain")

T.case("trailing dot: an untrusted sender to an agent inbox is still quarantined", function()
  local conn = T.connect()
  T.ok(T.mail(conn, "<stranger@random.example>", { qid = "ADR-DOT-TRUST" }) == SMFIR_CONTINUE, "MAIL")
  T.rcpt_ok(conn, "<inbox1@agents.example.com.>")
  T.headers(conn, { { "From", "stranger@random.example" } })
  T.check_eom_accept(conn, T.eom(conn), "ADR-DOT-TRUST", { verdict = "quarantine",
                     direction = "inbound", identity = "inbox1", reasons = "sender_not_trusted",
                     trust = "untrusted" })
  T.expect { qid = "ADR-DOT-TRUST", stage = "eom", action = "quarantine",
             reasons = "sender_not_trusted", untrusted = "true" }
  mt.disconnect(conn)
end, "trailing-dot-domain")

T.case("trailing dot: an agent's address without its login is still refused", function()
  local conn = T.connect()
  T.ok(T.mail(conn, "<bot1@agents.example.com.>", { qid = "ADR-DOT-SEND" }) == SMFIR_CONTINUE, "MAIL")
  T.rcpt_ok(conn, "<customer@example.com>")
  T.headers(conn, { { "From", "bot1@agents.example.com" } })
  T.check_eom_reject(conn, T.eom(conn), "ADR-DOT-SEND", "principal_mismatch")
  T.expect { qid = "ADR-DOT-SEND", stage = "eom", action = "reject", reasons = "principal_mismatch",
             identity = "bot1" }
  mt.disconnect(conn)
end, "trailing-dot-domain")

T.case("trailing dot: a revoked identity is still refused", function()
  local conn = T.connect()
  T.ok(T.mail(conn, "<rev1@agents.example.com.>", { qid = "ADR-DOT-REV", auth = "rev1" }) ==
       SMFIR_CONTINUE, "MAIL")
  T.rcpt_ok(conn, "<customer@example.com>")
  T.headers(conn, { { "From", "rev1@agents.example.com" } })
  T.check_eom_reject(conn, T.eom(conn), "ADR-DOT-REV", "identity_revoked")
  T.expect { qid = "ADR-DOT-REV", stage = "eom", action = "reject", reasons = "identity_revoked" }
  mt.disconnect(conn)
end, "trailing-dot-domain")

T.finish(SCRIPT)

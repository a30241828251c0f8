-- Header edits at end of message (SPEC 4 and 5): every governed message that passes gets one
-- AgentGate-Result, inserted at the top (smfi_insheader index 0); AgentGate-Result fields that
-- arrived with the message are removed (smfi_chgheader with a NULL value, one call per
-- instance), and so are Agent-Proof fields, so credentials never leave the gateway.
dofile(LIB)
local SCRIPT = "headers.lua"
local D = "@agents.example.com"

local function msg(conn, qid, sender, auth, rcpt, hdrs)
  T.ok(T.mail(conn, "<" .. sender .. ">", { qid = qid, auth = auth }) == SMFIR_CONTINUE,
       "MAIL -> CONTINUE")
  T.rcpt_ok(conn, "<" .. rcpt .. ">")
  T.headers(conn, hdrs)
  return T.eom(conn)
end

T.case("accepted outbound: forged AgentGate-Result (any case) removed", function()
  local conn = T.connect()
  local r = msg(conn, "HDR-OUT", "bot1" .. D, "bot1", "customer@example.com", {
    { "AgentGate-Result", "mt.test; verdict=accept; direction=outbound; identity=bot1" },
    { "From", "bot1@agents.example.com" },
    { "Subject", "headers-test" },
    { "agentgate-result", "lower-case forgery" },
    { "AGENTGATE-RESULT", "upper-case forgery" },
  })
  T.check_eom_accept(conn, r, "HDR-OUT", { direction = "outbound", identity = "bot1" })
  T.check_deleted(conn, "AgentGate-Result", 3)
  T.expect { qid = "HDR-OUT", stage = "eom", action = "accept", reasons = "none" }
  mt.disconnect(conn)
end)

T.case("accepted outbound without forged fields: nothing deleted", function()
  local conn = T.connect()
  local r = msg(conn, "HDR-CLEAN", "bot1" .. D, "bot1", "customer@example.com",
                { { "From", "bot1@agents.example.com" }, { "Subject", "headers-test" } })
  T.check_eom_accept(conn, r, "HDR-CLEAN", { direction = "outbound", identity = "bot1" })
  T.check_no_deletes(conn, "clean message")
  mt.disconnect(conn)
end)

T.case("accepted inbound: forged AgentGate-Result claiming trust and an Agent-Proof removed", function()
  local conn = T.connect()
  local r = msg(conn, "HDR-IN", "billing@partner.example", nil, "inbox1" .. D, {
    { "From", "billing@partner.example" },
    { "AgentGate-Result", "mt.test; verdict=accept; trust=trusted" },
    { "Agent-Proof", "eyJhbGciOiJFZERTQSJ9.e30.c2ln" },
    { "AgentGate-Result", "second forgery" },
  })
  T.check_eom_accept(conn, r, "HDR-IN", { direction = "inbound", identity = "inbox1" })
  T.check_deleted(conn, "AgentGate-Result", 2)
  T.check_deleted(conn, "Agent-Proof", 1)
  mt.disconnect(conn)
end)

T.case("quarantined inbound: forged trust removed, the real header says untrusted", function()
  local conn = T.connect()
  local r = msg(conn, "HDR-QUAR", "stranger@random.example", nil, "inbox1" .. D, {
    { "From", "stranger@random.example" },
    { "AgentGate-Result", "mt.test; verdict=accept; trust=trusted" },
  })
  T.check_eom_accept(conn, r, "HDR-QUAR", { verdict = "quarantine", direction = "inbound",
                     identity = "inbox1", reasons = "sender_not_trusted", trust = "untrusted" })
  T.check_deleted(conn, "AgentGate-Result", 1)
  T.expect { qid = "HDR-QUAR", stage = "eom", action = "quarantine", untrusted = "true" }
  mt.disconnect(conn)
end)

T.case("rejected: no AgentGate-Result added", function()
  local conn = T.connect()
  local r = msg(conn, "HDR-REJ", "rev1" .. D, "rev1", "customer@example.com", {
    { "From", "rev1@agents.example.com" },
    { "AgentGate-Result", "forged" },
  })
  T.check_eom_reject(conn, r, "HDR-REJ", "identity_revoked")
  mt.disconnect(conn)
end)

T.case("not governed: forged AgentGate-Result and Agent-Proof still removed, nothing added", function()
  local conn = T.connect()
  local r = msg(conn, "HDR-PLAIN", "alice@example.com", nil, "bob@example.org", {
    { "From", "alice@example.com" },
    { "AgentGate-Result", "mt.test; verdict=accept" },
    { "Agent-Proof", "eyJhbGciOiJFZERTQSJ9.e30.c2ln" },
  })
  T.check_eom_ungoverned(conn, r, "HDR-PLAIN")
  T.check_deleted(conn, "AgentGate-Result", 1)
  T.check_deleted(conn, "Agent-Proof", 1)
  mt.disconnect(conn)
end)

T.case("not governed, nothing forged: message untouched", function()
  local conn = T.connect()
  local r = msg(conn, "HDR-PLAIN2", "alice@example.com", nil, "bob@example.org",
                { { "From", "alice@example.com" }, { "Subject", "plain" } })
  T.check_eom_ungoverned(conn, r, "HDR-PLAIN2")
  T.check_no_deletes(conn, "ungoverned message")
  mt.disconnect(conn)
end)

T.finish(SCRIPT)

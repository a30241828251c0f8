-- What agentgated asks of the MTA at option negotiation, and the connection facts it records.
-- It must see CONNECT, MAIL, RCPT and the headers, may skip HELO, DATA, end-of-header, body and
-- unknown commands, answers only RCPT and end of message, and needs exactly the actions it uses: add/change headers and quarantine
-- (plus setsymlist, to get {auth_authen} and i at end of message from Postfix).
dofile(LIB)
local SCRIPT = "negotiation.lua"

T.case("negotiated actions and protocol steps", function()
  local conn = mt.connect(SOCK, 40, 0.05)
  if conn == nil then T.die("cannot connect") end
  T.ok(mt.test_action(conn, SMFIF_ADDHDRS), "asks SMFIF_ADDHDRS (smfi_insheader)")
  T.ok(mt.test_action(conn, SMFIF_CHGHDRS), "asks SMFIF_CHGHDRS (removing forged fields)")
  T.ok(mt.test_action(conn, SMFIF_QUARANTINE), "asks SMFIF_QUARANTINE")
  T.ok(mt.test_action(conn, SMFIF_SETSYMLIST), "asks SMFIF_SETSYMLIST")
  for name, flag in pairs({ SMFIF_CHGBODY = SMFIF_CHGBODY, SMFIF_ADDRCPT = SMFIF_ADDRCPT,
                            SMFIF_DELRCPT = SMFIF_DELRCPT, SMFIF_CHGFROM = SMFIF_CHGFROM }) do
    T.ok(not mt.test_action(conn, flag), "does not ask " .. name)
  end
  T.ok(not mt.test_option(conn, SMFIP_NOBODY), "reads the body (the proof's bh)")
  T.ok(mt.test_option(conn, SMFIP_SKIP), "may SKIP the body of mail from ungoverned senders")
  -- Steps whose answer is always "continue" are streamed without a reply: RCPT and end of
  -- message are the only round trips (docs/benchmarks.md).
  for name, flag in pairs({ SMFIP_NR_CONN = SMFIP_NR_CONN, SMFIP_NR_MAIL = SMFIP_NR_MAIL,
                            SMFIP_NR_HDR = SMFIP_NR_HDR, SMFIP_NR_BODY = SMFIP_NR_BODY }) do
    T.ok(mt.test_option(conn, flag), "no reply to a step that always continues: " .. name)
  end
  T.ok(not mt.test_option(conn, SMFIP_NR_RCPT), "answers RCPT (per-recipient refusals)")
  for name, flag in pairs({ SMFIP_NOHELO = SMFIP_NOHELO,
                            SMFIP_NOEOH = SMFIP_NOEOH, SMFIP_NOUNKNOWN = SMFIP_NOUNKNOWN,
                            SMFIP_NODATA = SMFIP_NODATA }) do
    T.ok(mt.test_option(conn, flag), "skips a step it never looks at: " .. name)
  end
  for name, flag in pairs({ SMFIP_NOCONNECT = SMFIP_NOCONNECT, SMFIP_NOMAIL = SMFIP_NOMAIL,
                            SMFIP_NORCPT = SMFIP_NORCPT, SMFIP_NOHDRS = SMFIP_NOHDRS }) do
    T.ok(not mt.test_option(conn, flag), "keeps a step it needs: not " .. name)
  end
  -- a skipped step cannot even be sent (miltertest refuses), so this is what an MTA honours
  T.ok(not pcall(mt.helo, conn, "client.example"), "HELO is not sent to agentgated")
  mt.disconnect(conn)
end)

T.case("IPv6 client address reaches the event", function()
  local conn = T.connect("2001:db8::25")
  T.ok(T.mail(conn, "<bot1@agents.example.com>", { qid = "NEG-V6", auth = "bot1" }) ==
       SMFIR_CONTINUE, "MAIL -> CONTINUE")
  T.rcpt_ok(conn, "<customer@example.com>")
  T.headers(conn, { { "From", "bot1@agents.example.com" } })
  T.check_eom_accept(conn, T.eom(conn), "NEG-V6", { direction = "outbound", identity = "bot1" })
  T.expect { qid = "NEG-V6", stage = "eom", action = "accept", client = "2001:db8::25" }
  mt.disconnect(conn)
end)

T.case("client of an unknown address family (no address)", function()
  local conn = mt.connect(SOCK, 40, 0.05)
  if conn == nil then T.die("cannot connect") end
  T.must(mt.conninfo(conn, "unknown.example", "unspec"), "conninfo unspec")
  T.expect_reply(conn, SMFIR_CONTINUE, "connect")
  T.ok(T.mail(conn, "<bot1@agents.example.com>", { qid = "NEG-UNSPEC", auth = "bot1" }) ==
       SMFIR_CONTINUE, "MAIL -> CONTINUE")
  T.rcpt_ok(conn, "<customer@example.com>")
  T.headers(conn, { { "From", "bot1@agents.example.com" } })
  T.check_eom_accept(conn, T.eom(conn), "NEG-UNSPEC", { direction = "outbound", identity = "bot1" })
  T.expect { qid = "NEG-UNSPEC", stage = "eom", action = "accept", client = "" }
  mt.disconnect(conn)
end)

T.case("quitting in the middle of a transaction, then a new connection works", function()
  local conn = T.connect()
  T.ok(T.mail(conn, "<bot1@agents.example.com>", { qid = "NEG-QUIT", auth = "bot1" }) ==
       SMFIR_CONTINUE, "MAIL -> CONTINUE")
  T.rcpt_ok(conn, "<customer@example.com>")
  mt.disconnect(conn)
  local c2 = T.connect()
  T.ok(T.mail(c2, "<bot1@agents.example.com>", { qid = "NEG-AFTER", auth = "bot1" }) ==
       SMFIR_CONTINUE, "MAIL -> CONTINUE")
  T.rcpt_ok(c2, "<customer@example.com>")
  T.headers(c2, { { "From", "bot1@agents.example.com" } })
  T.check_eom_accept(c2, T.eom(c2), "NEG-AFTER", { direction = "outbound", identity = "bot1" })
  mt.disconnect(c2)
  T.expect_none("NEG-QUIT")
end)

T.finish(SCRIPT)

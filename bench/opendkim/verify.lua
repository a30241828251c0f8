-- verify.lua: miltertest script that sends every message of a milterload corpus to a running
-- DKIM-verifying milter and checks the dkim= result in the Authentication-Results header it
-- adds at end of message.
--
--   miltertest -D SOCK=unix:/path -D CORPUS=signed.corpus -D EXPECT=pass,pass,fail -s verify.lua
--
-- EXPECT lists one result per message (pass, fail, neutral, permerror, none, ...); "fail"
-- also accepts "neutral" and "permerror" (what a tampered message may produce, depending on
-- what was changed). A missing header counts as "none" (OpenDKIM adds none to unsigned mail). Exits non-zero (Lua error) on the
-- first message whose result differs, after printing why (miltertest does not print errors).
-- Each message goes over its own milter connection, sent the way Postfix sends it: one space
-- after the colon removed, folded header lines joined by "\n", body lines ended by CRLF.

local function fail(msg)
  mt.echo("FAIL: " .. msg)
  error(msg)
end

if SOCK == nil or CORPUS == nil or EXPECT == nil then
  fail("need -D SOCK=... -D CORPUS=... -D EXPECT=r1,r2,...")
end

local expect = {}
for r in string.gmatch(EXPECT, "[^,]+") do
  expect[#expect + 1] = r
end

-- Parse the corpus into {from=, rcpts={}, headers={{name, value}}, body=""} records.
local function load_corpus(path)
  local messages, msg, in_body = {}, nil, false
  local n = 0
  for raw in io.lines(path) do
    n = n + 1
    local line = string.gsub(raw, "\r$", "")
    if msg == nil then
      if string.sub(line, 1, 9) == "#envelope" then
        msg = { rcpts = {}, headers = {}, body = {} }
        msg.from = string.match(line, "from=(%S*)")
        local rcpts = string.match(line, "rcpt=(%S*)") or ""
        for r in string.gmatch(rcpts, "[^,]+") do
          msg.rcpts[#msg.rcpts + 1] = r
        end
        in_body = false
      elseif line ~= "" then
        fail(path .. ":" .. n .. ": expected #envelope")
      end
    elseif line == "#end" then
      msg.body = table.concat(msg.body)
      messages[#messages + 1] = msg
      msg = nil
    elseif in_body then
      msg.body[#msg.body + 1] = line .. "\r\n"
    elseif line == "" then
      in_body = true
    elseif string.match(line, "^[ \t]") then
      local h = msg.headers[#msg.headers]
      if h == nil then fail(path .. ":" .. n .. ": continuation before any header") end
      h[2] = h[2] .. "\n" .. line
    else
      local name, value = string.match(line, "^([^:]+):(.*)$")
      if name == nil then fail(path .. ":" .. n .. ": not a header line") end
      value = string.gsub(value, "^ ", "")
      msg.headers[#msg.headers + 1] = { name, value }
    end
  end
  if msg ~= nil then fail(path .. ": message without #end") end
  return messages
end

local function expect_continue(conn, what)
  local r = mt.getreply(conn)
  if r ~= SMFIR_CONTINUE then
    fail(what .. ": milter replied " .. tostring(r) .. ", not continue")
  end
end

local function dkim_result(msg, index)
  local conn = mt.connect(SOCK, 40, 0.25)
  if conn == nil then fail("cannot connect to " .. SOCK) end
  mt.macro(conn, SMFIC_CONNECT, "j", "mta.bench.test")
  if mt.conninfo(conn, "bench-client.example", "192.0.2.10") ~= nil then fail("conninfo") end
  expect_continue(conn, "connect")
  mt.macro(conn, SMFIC_MAIL, "i", "BENCH" .. index)
  if mt.mailfrom(conn, msg.from) ~= nil then fail("mailfrom") end
  expect_continue(conn, "MAIL")
  for _, r in ipairs(msg.rcpts) do
    if mt.rcptto(conn, r) ~= nil then fail("rcptto") end
    expect_continue(conn, "RCPT " .. r)
  end
  for _, h in ipairs(msg.headers) do
    if mt.header(conn, h[1], h[2]) ~= nil then fail("header " .. h[1]) end
    expect_continue(conn, "header " .. h[1])
  end
  if mt.eoh(conn) ~= nil then fail("eoh") end
  expect_continue(conn, "end of headers")
  if mt.bodystring(conn, msg.body) ~= nil then fail("body") end
  local b = mt.getreply(conn)
  if b ~= SMFIR_CONTINUE and b ~= SMFIR_SKIP then -- OpenDKIM skips the body of unsigned mail
    fail("body: milter replied " .. tostring(b) .. ", not continue or skip")
  end
  if mt.eom(conn) ~= nil then fail("eom") end
  local r = mt.getreply(conn)
  if r ~= SMFIR_CONTINUE and r ~= SMFIR_ACCEPT then
    fail("message " .. index .. ": end of message reply " .. tostring(r))
  end
  local ar = mt.getheader(conn, "Authentication-Results", 0)
  mt.disconnect(conn)
  if ar == nil then return "none", "(no Authentication-Results header)" end
  return string.match(ar, "dkim=(%a+)") or "none", ar
end

local messages = load_corpus(CORPUS)
if #messages ~= #expect then
  fail(CORPUS .. " has " .. #messages .. " messages but EXPECT lists " .. #expect)
end
for i, msg in ipairs(messages) do
  local got, ar = dkim_result(msg, i)
  local want = expect[i]
  local ok = got == want or
      (want == "fail" and (got == "neutral" or got == "permerror"))
  mt.echo(string.format("message %d: dkim=%s, expected %s: %s  [%s]", i, got, want,
    ok and "ok" or "MISMATCH", string.gsub(ar, "%s+", " ")))
  if not ok then fail("message " .. i .. ": dkim=" .. got .. ", expected " .. want) end
end
mt.echo(#messages .. " messages verified as expected")

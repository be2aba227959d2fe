-- offload.lua - miltertest script for the real offload-milter (run by test_miltertest.sh)
-- miltertest -s offload.lua -D MILTER=build/offload-milter -D CONF=offload.conf -D SOCK=inet:P@127.0.0.1
--            -D HDRS=msg.hdrs -D BODY=msg.body -D CASE=big|small|broken
--   HDRS: one header per line, "Name<TAB>value" (unfolded); BODY: the body bytes (CRLF)
--   CASE big:    (NOT run by default: Debian 12 miltertest 2.11.0~beta2 aborts with "stack
--                smashing detected" on a replacement body chunk > ~1 KiB; see milterclient.py)
--                the body has a base64 attachment >= offload_min_size: expect a body change,
--                X-Offload-Transfer (grammar checked) and X-Data-Classification for that transfer
--   CASE small:  nothing to offload: expect no body change and no header operation at all
--   CASE broken: the store is unusable: expect SMFIR_TEMPFAIL at end of message
-- miltertest hides Lua errors (exit 1, no text): everything runs under pcall and prints
-- "PASS: ..." / "FAIL: ..." lines (recipes README §3).
local sock = SOCK or "inet:12730@127.0.0.1"
local case = CASE or "big"

local function fail(msg) error(msg, 0) end

local function main()
  mt.set_timeout(60)
  mt.startfilter(MILTER, "-f", "-c", CONF)  -- miltertest SIGTERMs and waits for it at the end
  local conn = mt.connect(sock, 100, 0.05)
  if conn == nil then fail("mt.connect(" .. sock .. ") failed") end

  local leadspc = mt.test_option(conn, SMFIP_HDR_LEADSPC)
  -- one protocol step: skipped if the filter negotiated it away (SMFIP_NO*), no reply read if
  -- it negotiated SMFIP_NR_* for it
  local function step(name, noopt, nropt, fn, ...)
    if noopt and mt.test_option(conn, noopt) then return end
    local err = fn(conn, ...)
    if err ~= nil then fail(name .. " failed: " .. tostring(err)) end
    if nropt and mt.test_option(conn, nropt) then return end
    local r = mt.getreply(conn)
    if r ~= SMFIR_CONTINUE and r ~= SMFIR_SKIP then
      fail(name .. ": unexpected reply " .. tostring(r))
    end
  end

  mt.macro(conn, SMFIC_CONNECT, "j", "mx.offload.test", "{daemon_name}", "smtpd")
  step("connect", SMFIP_NOCONNECT, SMFIP_NR_CONN, mt.conninfo, "localhost", "127.0.0.1")
  step("helo", SMFIP_NOHELO, SMFIP_NR_HELO, mt.helo, "client.example.org")
  mt.macro(conn, SMFIC_MAIL, "i", "4F00DA7E5C1", "{mail_addr}", "alice@example.org")
  step("mailfrom", SMFIP_NOMAIL, SMFIP_NR_MAIL, mt.mailfrom, "<alice@example.org>")
  mt.macro(conn, SMFIC_RCPT, "{rcpt_addr}", "bob@example.net")
  step("rcptto", SMFIP_NORCPT, SMFIP_NR_RCPT, mt.rcptto, "<bob@example.net>")
  step("data", SMFIP_NODATA, SMFIP_NR_DATA, mt.data)
  local nh = 0
  for line in io.lines(HDRS) do
    local name, value = line:match("^([^\t]+)\t(.*)$")
    if name then
      if leadspc then value = " " .. value end
      step("header " .. name, SMFIP_NOHDRS, SMFIP_NR_HDR, mt.header, name, value)
      nh = nh + 1
    end
  end
  if nh == 0 then fail("no headers read from " .. tostring(HDRS)) end
  step("eoh", SMFIP_NOEOH, SMFIP_NR_EOH, mt.eoh)
  step("body", SMFIP_NOBODY, SMFIP_NR_BODY, mt.bodyfile, BODY)

  if mt.eom(conn) ~= nil then fail("mt.eom() failed") end
  local r = mt.getreply(conn)

  if case == "broken" then
    -- plain tempfail, or a reply code set with smfi_setmlreply. miltertest's MT_SMTPREPLY
    -- check does not parse multi-line replies ("451-4.3.0 ...\r\n451 4.3.0 ..."), so the code
    -- itself is checked with milterclient.py in test_miltertest.sh
    local code4 = false
    if r == SMFIR_REPLYCODE then
      code4 = "SMFIR_REPLYCODE"
      for _, c in ipairs({"421", "450", "451", "452"}) do
        if mt.eom_check(conn, MT_SMTPREPLY, c) then code4 = c end
      end
    end
    if r ~= SMFIR_TEMPFAIL and not code4 then
      fail("store broken: expected SMFIR_TEMPFAIL or a 4xx reply code, got " .. tostring(r))
    end
    mt.echo("PASS: store broken -> tempfail at end of message (" .. (code4 or "SMFIR_TEMPFAIL") .. ")")
    assert(not mt.eom_check(conn, MT_BODYCHANGE), "store broken: body was changed anyway")
    mt.echo("PASS: store broken -> body untouched")
    mt.disconnect(conn)
    return
  end

  if r ~= SMFIR_CONTINUE and r ~= SMFIR_ACCEPT then fail("eom: unexpected reply " .. tostring(r)) end
  mt.echo("PASS: " .. case .. ": end of message answered continue/accept")

  if case == "small" then
    if mt.eom_check(conn, MT_BODYCHANGE) then fail("small: body was replaced") end
    mt.echo("PASS: small: body not replaced")
    if mt.eom_check(conn, MT_HDRADD) or mt.eom_check(conn, MT_HDRINSERT) then
      fail("small: a header was added")
    end
    mt.echo("PASS: small: no header added")
    if mt.eom_check(conn, MT_HDRCHANGE) or mt.eom_check(conn, MT_HDRDELETE) then
      fail("small: a header was changed or deleted")
    end
    mt.echo("PASS: small: no header changed or deleted")
    mt.disconnect(conn)
    return
  end

  -- case big
  if not mt.test_action(conn, SMFIF_ADDHDRS) then fail("filter did not negotiate SMFIF_ADDHDRS") end
  if not mt.test_action(conn, SMFIF_CHGBODY) then fail("filter did not negotiate SMFIF_CHGBODY") end
  mt.echo("PASS: big: SMFIF_ADDHDRS and SMFIF_CHGBODY negotiated")
  if not mt.eom_check(conn, MT_BODYCHANGE) then fail("big: body was not replaced") end
  local f = io.open(BODY, "rb"); local orig = f:read("a"); f:close()
  if mt.eom_check(conn, MT_BODYCHANGE, orig) then fail("big: body 'replaced' with the original body") end
  mt.echo("PASS: big: body replaced (and differs from the original)")
  if not mt.eom_check(conn, MT_HDRADD, "X-Offload-Transfer") then fail("big: X-Offload-Transfer not added") end
  local xo = mt.getheader(conn, "X-Offload-Transfer", 0)
  if xo == nil then fail("big: getheader(X-Offload-Transfer) is nil") end
  xo = xo:gsub("^%s+", "")
  local id = xo:match("^(" .. string.rep("[a-z2-7]", 24) .. "); files=1; expires=%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d[^;]*; mac=[^%s;]+$")
  if id == nil then fail("big: X-Offload-Transfer value has the wrong grammar: '" .. xo .. "'") end
  mt.echo("PASS: big: X-Offload-Transfer: " .. xo)
  if mt.getheader(conn, "X-Offload-Transfer", 1) ~= nil then fail("big: X-Offload-Transfer added twice") end
  local want = "class=OFFEN; policy=default; transfer=" .. id
  local xc = mt.getheader(conn, "X-Data-Classification", 0)
  if xc == nil then fail("big: X-Data-Classification not added") end
  xc = xc:gsub("^%s+", "")
  if xc ~= want then fail("big: X-Data-Classification is '" .. xc .. "', want '" .. want .. "'") end
  mt.echo("PASS: big: X-Data-Classification: " .. xc)
  if mt.eom_check(conn, MT_HDRINSERT) then fail("big: smfi_insheader used (DECISIONS.md §13: addheader only)") end
  mt.echo("PASS: big: headers added with smfi_addheader only")
  mt.disconnect(conn)
end

local ok, err = pcall(main)
if not ok then mt.echo("FAIL: " .. tostring(err)); error(err) end
mt.echo("DONE")

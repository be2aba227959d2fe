// sender_test.js - the sender page behind the revoke link (/r/<id>#<revoke secret>) of the real
// offload-portal in headless Debian Chromium through playwright-core (run by
// tests/integration/test_browser_sender.sh; NODE_PATH=$SRCDIR/tools/node_modules). Prints
// TAP-like "ok - ..." / "not ok - ..." lines.
//
// Environment:
//   RLINK    the sender's revoke link  http://127.0.0.1:PORT/r/<id>#<revoke secret>
//   NAME, SIZE, SHA256   the one file of the transfer (downloaded once before)
//   ALINK    the link of an agreed-secret transfer (organisation "Stadt Beispiel & Co")
//   ARTIFACTS  directory for screenshots;  UDD  fresh --user-data-dir
'use strict';
const { chromium } = require('playwright-core');
const fs = require('fs');
const path = require('path');

const env = process.env;
let pass = 0, fail = 0;
const ok = (d) => { pass++; console.log(`ok - ${d}`); };
const notOk = (d) => { fail++; console.log(`not ok - ${d}`); };
const check = (cond, d) => (cond ? ok(d) : notOk(d));
const problems = [];
let expectedConsole = null;

async function main() {
	fs.mkdirSync(env.ARTIFACTS, { recursive: true });
	const ctx = await chromium.launchPersistentContext(env.UDD, {
		executablePath: '/usr/bin/chromium',
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
		viewport: { width: 1100, height: 900 },
	});
	await ctx.exposeBinding('__offloadCsp', (src, v) => problems.push(`CSP violation: ${v}`));
	await ctx.addInitScript(() => {
		document.addEventListener('securitypolicyviolation', (e) => {
			window.__offloadCsp(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'}`);
		});
	});
	try {
		await run(ctx, env.ARTIFACTS);
	} finally {
		await ctx.close();
	}
}

async function run(ctx, art) {
	const page = await ctx.newPage();
	await page.setExtraHTTPHeaders({ 'Accept-Language': 'de-DE,de;q=0.9' });
	page.on('console', (m) => {
		if (m.type() === 'error' && !(expectedConsole && expectedConsole.test(m.text())))
			problems.push(`console error: ${m.text()}`);
	});
	page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
	const posts = [];
	page.on('request', (r) => { if (r.method() === 'POST') posts.push(r.url()); });

	const resp = await page.goto(env.RLINK, { waitUntil: 'load' });
	check(resp && resp.status() === 200, `GET /r/<id>: 200 (${resp && resp.status()})`);
	const shown = await page.locator('#sender').waitFor({ state: 'visible', timeout: 60000 }).then(() => true, () => false);
	check(shown, 'the sender view is shown (POST /r/<id>/view with the secret from the fragment)');
	check(page.url() === env.RLINK.replace(/#.*/, ''), 'the revoke secret is gone from the address bar');
	const cells = await page.locator('#s-files tbody tr').first().locator('td').allInnerTexts();
	check(cells[0] === env.NAME, `file name "${cells[0]}"`);
	check(cells[2] === env.SHA256, `SHA-256 of the file (${cells[2] && cells[2].slice(0, 16)}…)`);
	check(cells[3] === '1', `download count 1 after one complete download (${cells[3]})`);
	check(cells[4] && cells[4] !== '–', `last download time shown (${cells[4]})`);
	const before = await page.locator('#s-expires').innerText();
	check(/\d/.test(before), `expiry shown (${before})`);
	await page.screenshot({ path: path.join(art, 'sender-page-de.png'), fullPage: true });

	// extend by 3 days
	await page.fill('#days', '3');
	await page.click('#extend-btn');
	await page.locator('#s-status').filter({ hasText: 'Verlängert bis' }).waitFor({ timeout: 60000 }).catch(() => {});
	const st = await page.locator('#s-status').innerText();
	check(/Verlängert bis/.test(st), `extend by 3 days: "${st}"`);
	const after = await page.locator('#s-expires').innerText();
	check(after !== before, `the expiry shown changed (${before} -> ${after})`);

	// beyond the maximum: refused with the latest possible date
	expectedConsole = /status of 409/;
	await page.fill('#days', '365');
	await page.click('#extend-btn');
	await page.locator('#s-status.error').waitFor({ state: 'visible', timeout: 60000 }).catch(() => {});
	const lim = await page.locator('#s-status').innerText();
	check(/Nicht möglich: die Übertragung kann höchstens bis .*\d.* verfügbar sein/.test(lim), `365 days refused: "${lim}"`);
	check(await page.locator('#s-expires').innerText() === after, 'a refused extension changes nothing shown');
	expectedConsole = null;
	await page.screenshot({ path: path.join(art, 'sender-limit-de.png'), fullPage: true });

	// revoke now
	await page.click('#confirm');
	const done = await page.locator('#done').waitFor({ state: 'visible', timeout: 60000 }).then(() => true, () => false);
	check(done, '"revoke now" on the sender page revokes: the done state is shown');
	check(posts.filter((u) => /\/view$/.test(u)).length >= 1 && posts.filter((u) => /\/extend$/.test(u)).length === 2 &&
		posts.filter((u) => /\/revoke$/.test(u)).length === 1, `POSTs: view, 2 extend, 1 revoke (${posts.length})`);
	// an agreed-secret transfer: the page before unlock names the organisation (issue 12)
	for (const [lang, want] of [['de-DE,de;q=0.9', 'Sie brauchen ein Passwort: das Passwort, das Sie mit Stadt Beispiel & Co vereinbart haben.'],
		['en-GB,en;q=0.9', 'You need a password: the password you agreed with Stadt Beispiel & Co.']]) {
		const ap = await ctx.newPage();
		await ap.setExtraHTTPHeaders({ 'Accept-Language': lang });
		ap.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
		await ap.goto(env.ALINK, { waitUntil: 'load' });
		const how = await ap.locator('#pwinfo').innerText().catch(() => '');
		check(how === want && await ap.locator('#password').isVisible(),
			`agreed-secret transfer, ${lang.slice(0, 2)}: before unlock the page says "${how}" with a password field`);
		await ap.close();
	}
	problems.splice(0, problems.length, ...problems.filter((p) => !/favicon\.ico/.test(p)));
	check(problems.length === 0, `no console errors, page errors or CSP violations (${problems.length})`);
	for (const p of problems) console.log(`#   ${p}`);
}

main().then(
	() => { console.log(`# node: ${pass} passed, ${fail} failed`); process.exit(fail ? 1 : 0); },
	(e) => { notOk(`browser run: ${e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e}`); process.exit(1); });

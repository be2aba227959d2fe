// revoke_test.js - the sender's revoke page (/r/<id>#<revoke secret>) of the real offload-portal
// in headless Debian Chromium through playwright-core (run by tests/integration/test_browser_revoke.sh;
// NODE_PATH=$SRCDIR/tools/node_modules). Prints TAP-like "ok - ..." / "not ok - ..." lines.
//
// Environment:
//   LINK     the recipients' link  http://127.0.0.1:PORT/t/<id>#<secret>
//   RLINK    the sender's revoke link  http://127.0.0.1:PORT/r/<id>#<revoke secret>
//   TICKET   a download URL (/d/<ticket>) issued before the revoke
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
const requests = [];
let expectedConsole = null;   // console errors a step provokes on purpose (Chromium logs refused requests)

async function newPage(ctx, label, lang) {
	const page = await ctx.newPage();
	await page.setExtraHTTPHeaders({ 'Accept-Language': lang });
	page.on('console', (m) => {
		if (m.type() !== 'error') return;
		if (expectedConsole && expectedConsole.test(m.text())) return;
		problems.push(`${label}: console error: ${m.text()} (${(m.location() || {}).url || '?'})`);
	});
	page.on('pageerror', (e) => problems.push(`${label}: page error: ${e.message}`));
	return page;
}

async function tabTo(page, id, max = 20) {
	for (let i = 0; i < max; i++) {
		await page.keyboard.press('Tab');
		if (await page.evaluate((x) => document.activeElement && document.activeElement.id === x, id))
			return true;
	}
	return false;
}

async function main() {
	fs.mkdirSync(env.ARTIFACTS, { recursive: true });
	const t0 = Date.now();
	const ctx = await chromium.launchPersistentContext(env.UDD, {
		executablePath: '/usr/bin/chromium',
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
		viewport: { width: 1024, height: 768 },
	});
	console.log(`# chromium up in ${Date.now() - t0} ms`);
	await ctx.exposeBinding('__offloadCsp', (src, v) => problems.push(`${src.page ? src.page.url() : '?'}: CSP violation: ${v}`));
	await ctx.addInitScript(() => {
		document.addEventListener('securitypolicyviolation', (e) => {
			window.__offloadCsp(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`);
		});
	});
	ctx.on('request', (r) => requests.push({ url: r.url(), referer: r.headers()['referer'] || '',
		method: r.method(), body: r.postData() || '' }));
	try {
		await run(ctx, env.ARTIFACTS);
	} finally {
		await ctx.close();
	}
}

async function status(ctx, url) {
	const r = await ctx.request.get(url, { maxRedirects: 0 });
	return r.status();
}

async function run(ctx, art) {
	const rlink = env.RLINK, link = env.LINK;
	const rbase = rlink.replace(/#.*/, ''), base = link.replace(/#.*/, '');
	const rsecret = rlink.replace(/.*#/, '');

	// ---- German: the confirmation page, no side effect --------------------------------------------
	const de = await newPage(ctx, 'de', 'de-DE,de;q=0.9');
	const resp = await de.goto(rlink, { waitUntil: 'load' });
	check(resp && resp.status() === 200, `GET /r/<id> answers 200 (${resp && resp.status()})`);
	const h = resp ? resp.headers() : {};
	check(/script-src 'self'/.test(h['content-security-policy'] || '') && /frame-ancestors 'none'/.test(h['content-security-policy'] || ''),
		`revoke page CSP: script-src 'self', frame-ancestors 'none'`);
	check((h['referrer-policy'] || '') === 'no-referrer', `Referrer-Policy: no-referrer (${h['referrer-policy']})`);
	await de.waitForFunction(() => location.hash === '', null, { timeout: 5000 }).catch(() => {});
	check(de.url() === rbase, `the revoke secret is gone from the address bar after load (${de.url().replace(/#.+/, '#<secret>')})`);
	const h1 = (await de.locator('h1').innerText()).trim();
	check(/Übertragung zurückziehen/.test(h1), `German revoke page: heading "${h1}"`);
	check(await de.locator('#confirm').isVisible() && /zurückziehen/.test(await de.locator('#confirm').innerText()),
		'the confirm button #confirm is visible');
	check(!(await de.locator('#code').isVisible()), 'with the fragment the revoke code field stays hidden');
	check(await de.locator('#code').evaluate((e) => !!(e.labels && e.labels.length)), '#code has a label');
	await de.screenshot({ path: path.join(art, 'revoke-page-de.png'), fullPage: true });
	check(await status(ctx, base) === 200, 'opening the revoke page revoked nothing: /t/<id> still 200');

	// ---- no fragment (a rewriter dropped it), a wrong code: refused ---------------------------------
	const bad = await newPage(ctx, 'wrong-code', 'de');
	await bad.goto(rbase, { waitUntil: 'load' });
	check(await bad.locator('#code').isVisible(), 'without the fragment the revoke code field #code is shown');
	expectedConsole = /status of 403/;
	await bad.fill('#code', 'AAAAAAAAAAAAAAAAAAAAAA');
	await bad.click('#confirm');
	await bad.locator('#status.error').waitFor({ state: 'visible', timeout: 60000 }).catch(() => {});
	const badText = await bad.locator('#status').innerText();
	check(/Widerrufslink ist unvollständig oder falsch/.test(badText), `a wrong code says so ("${badText}")`);
	check(await bad.locator('#done').isHidden(), 'a wrong code does not show the done state');
	expectedConsole = null;
	check(await status(ctx, base) === 200, 'after the wrong code the transfer is still live (/t/<id> 200)');
	await bad.screenshot({ path: path.join(art, 'revoke-wrong-de.png'), fullPage: true });

	// ---- switch to English (the link keeps the fragment), revoke by keyboard -----------------------
	const sw = de.locator('footer a[hreflang="en"]');
	check(await sw.count() === 1, 'the page has an English switch link');
	await Promise.all([de.waitForNavigation({ waitUntil: 'load' }), sw.click()]);
	await de.waitForFunction(() => location.hash === '', null, { timeout: 5000 }).catch(() => {});
	check(await de.evaluate(() => document.documentElement.lang === 'en') && /Revoke transfer/.test(await de.locator('h1').innerText()),
		'English revoke page after the switch');
	check(!(await de.locator('#code').isVisible()), 'the switch carried the revoke secret along (no code field)');
	check(await tabTo(de, 'confirm'), 'keyboard: Tab reaches #confirm');
	await de.keyboard.press('Enter');
	const done = await de.locator('#done').waitFor({ state: 'visible', timeout: 60000 }).then(() => true, () => false);
	check(done, 'Enter on #confirm revokes: the done state is shown');
	check(/The transfer is revoked/.test(await de.locator('#status').innerText()), 'status: "The transfer is revoked"');
	check(await de.evaluate(() => document.activeElement && document.activeElement.tagName === 'H2'),
		'focus moves to the done heading');
	check(await de.locator('#revoke').isHidden(), 'the form is gone after the revoke');
	await de.screenshot({ path: path.join(art, 'revoke-done-en.png'), fullPage: true });

	// ---- afterwards: 410 everywhere ----------------------------------------------------------------
	expectedConsole = /status of 410/;
	const again = await newPage(ctx, 'again', 'de');
	const r410 = await again.goto(rlink, { waitUntil: 'load' });
	check(r410 && r410.status() === 410 && /Bereits zurückgezogen/.test(await again.locator('body').innerText()) &&
		await again.locator('#confirm').count() === 0, `the revoke link again: 410 "Bereits zurückgezogen", no button`);
	const rec = await newPage(ctx, 'recipient', 'de');
	const t410 = await rec.goto(link, { waitUntil: 'load' });
	check(t410 && t410.status() === 410 && /Nicht mehr verfügbar/.test(await rec.locator('body').innerText()),
		`the recipients' link: 410 "Nicht mehr verfügbar"`);
	check(await status(ctx, env.TICKET) === 410, 'a download ticket issued before the revoke: 410');
	expectedConsole = null;
	problems.splice(0, problems.length, ...problems.filter((p) => !/^(again|recipient): console error: Failed to load resource: .*410/.test(p)));

	// the sender page's script POSTs /r/<id>/view on each load with the fragment; revokes are counted apart
	const all = requests.filter((r) => r.method === 'POST');
	const posts = all.filter((r) => /\/r\/[a-z2-7]{24}\/revoke$/.test(r.url));
	check(posts.length === 2 && posts[1].body.includes(rsecret) &&
		all.every((r) => /\/r\/[a-z2-7]{24}\/(revoke|view)$/.test(r.url)),
		`two POSTs to /r/<id>/revoke (others only /view), the secret only in the body (${posts.length} of ${all.length})`);
	const leaks = requests.filter((r) => r.url.includes(rsecret) || r.referer.includes(rsecret));
	check(requests.length > 5 && leaks.length === 0,
		`no request URL or Referer carries the revoke secret (${requests.length} requests, ${leaks.length} leaks)`);
	problems.splice(0, problems.length, ...problems.filter((p) => !/favicon\.ico/.test(p)));
	check(problems.length === 0, `no console errors, page errors or CSP violations (${problems.length})`);
	for (const p of problems) console.log(`#   ${p}`);
}

main().then(
	() => { console.log(`# node: ${pass} passed, ${fail} failed`); process.exit(fail ? 1 : 0); },
	(e) => { notOk(`browser run: ${e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e}`); process.exit(1); });

// portal_test.js - drives the real offload-portal page in headless Debian Chromium through
// playwright-core (run by tests/integration/test_browser.sh; NODE_PATH=$SRCDIR/tools/node_modules).
// Prints TAP-like "ok - ..." / "not ok - ..." lines; the shell script counts them.
//
// Environment:
//   LINK        portal link with the fragment secret (http://127.0.0.1:PORT/t/<id>#<secret>)
//   SHA256      SHA-256 of the first file;  NAME  its original file name
//   PW_LINK, PW_SHA256, PASSWORD   optional: a password transfer
//   ARTIFACTS   directory for screenshots;  UDD  fresh --user-data-dir;  DLDIR  downloads
'use strict';
const { chromium } = require('playwright-core');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const env = process.env;
let pass = 0, fail = 0;
const ok = (d) => { pass++; console.log(`ok - ${d}`); };
const notOk = (d) => { fail++; console.log(`not ok - ${d}`); };
const check = (cond, d) => (cond ? ok(d) : notOk(d));
const sha256 = (f) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

// every console error, page error and CSP violation of every page, with the page's label
const problems = [];
const requests = [];
let expectedConsole = null;   // a RegExp of console errors a step provokes on purpose

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

async function downloadFirst(page, outDir, label) {
	const link = page.locator('a.download').first();
	await link.waitFor({ state: 'visible', timeout: 60000 });
	const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 90000 }), link.click()]);
	const file = path.join(outDir, `${label}-${dl.suggestedFilename().replace(/[\/\\]/g, '_')}`);
	await dl.saveAs(file);
	return { dl, file };
}

async function main() {
	const udd = env.UDD;
	const art = env.ARTIFACTS;
	const dldir = env.DLDIR;
	fs.mkdirSync(art, { recursive: true });
	fs.mkdirSync(dldir, { recursive: true });
	const t0 = Date.now();
	const ctx = await chromium.launchPersistentContext(udd, {
		executablePath: '/usr/bin/chromium',
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
		acceptDownloads: true,
		downloadsPath: dldir,
		viewport: { width: 1024, height: 768 },
	});
	console.log(`# chromium up in ${Date.now() - t0} ms`);
	// CSP violations are reported from inside every document, before any page script runs
	await ctx.exposeBinding('__offloadCsp', (src, v) => problems.push(`${src.page ? src.page.url() : '?'}: CSP violation: ${v}`));
	await ctx.addInitScript(() => {
		document.addEventListener('securitypolicyviolation', (e) => {
			window.__offloadCsp(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`);
		});
	});
	// every request of the run: the fragment secret must never be in a URL or a Referer
	ctx.on('request', (r) => requests.push({ url: r.url(), referer: r.headers()['referer'] || '', method: r.method() }));
	try {
		await run(ctx, art, dldir);
	} finally {
		await ctx.close();
	}
}

async function run(ctx, art, dldir) {
	const link = env.LINK;
	const base = link.replace(/#.*/, '');

	// ---- German: load, fragment removed, click, download --------------------------------------
	const de = await newPage(ctx, 'de', 'de-DE,de;q=0.9');
	const resp = await de.goto(link, { waitUntil: 'load' });
	check(resp && resp.status() === 200, `GET /t/<id> answers 200 (${resp && resp.status()})`);
	const h = resp ? resp.headers() : {};
	check(/frame-ancestors 'none'/.test(h['content-security-policy'] || ''),
		`page CSP has frame-ancestors 'none' (${h['content-security-policy']})`);
	check((h['referrer-policy'] || '') === 'no-referrer', `Referrer-Policy: no-referrer (${h['referrer-policy']})`);
	await de.waitForFunction(() => location.hash === '', null, { timeout: 5000 }).catch(() => {});
	const url = de.url();
	check(!url.includes('#') && url === base, `the fragment is gone from the URL after load (${url.replace(/#.+/, '#<secret>')})`);
	check(await de.evaluate(() => document.documentElement.lang.startsWith('de')), 'Accept-Language de: <html lang="de">');
	const showDe = (await de.locator('#show').innerText()).trim();
	check(/Dateien anzeigen/.test(showDe), `German page: #show says "Dateien anzeigen" ("${showDe}")`);
	const h1 = (await de.locator('h1').innerText()).trim();
	check(/Dateien abholen/.test(h1), `German page: heading "${h1}"`);
	check(await de.locator('#code').count() === 1, 'the access code field #code exists');
	check(await de.locator('#code').evaluate((e) => !!(e.labels && e.labels.length) || !!e.getAttribute('aria-label')),
		'#code has a label');
	check(await de.locator('a.download').count() === 0, 'before the click no download link exists');
	await de.screenshot({ path: path.join(art, 'portal-page-de.png'), fullPage: true });
	await de.click('#show');
	const { dl, file } = await downloadFirst(de, dldir, 'de');
	check(sha256(file) === env.SHA256, `downloaded file (click) has the original SHA-256 (${dl.suggestedFilename()})`);
	check(dl.suggestedFilename() === env.NAME, `download file name is the original "${env.NAME}" ("${dl.suggestedFilename()}")`);
	const all = de.locator('#all');
	check(await all.count() === 1 && /\/d\//.test(await all.getAttribute('href') || ''), '"download all" link #all -> /d/<ticket>');
	const body = await de.locator('body').innerText();
	check(body.includes(env.NAME), 'the file list shows the file name');
	check(body.includes(env.SHA256), 'the file list shows the SHA-256');
	await de.screenshot({ path: path.join(art, 'portal-files-de.png'), fullPage: true });
	if (await all.count() === 1) {
		const [zdl] = await Promise.all([de.waitForEvent('download', { timeout: 90000 }), all.click()]);
		await zdl.saveAs(path.join(dldir, 'all.zip'));
		console.log(`# download all: ${zdl.suggestedFilename()} -> ${path.join(dldir, 'all.zip')}`);
	}

	// ---- English + keyboard only ----------------------------------------------------------------
	const en = await newPage(ctx, 'en', 'en-US,en;q=0.9');
	await en.goto(link, { waitUntil: 'load' });
	check(await en.evaluate(() => document.documentElement.lang.startsWith('en')), 'Accept-Language en: <html lang="en">');
	const h1En = (await en.locator('h1').innerText()).trim();
	check(/Collect files/.test(h1En) && !/verfügbar|Dateien abholen/.test(await en.locator('body').innerText()),
		`English page: heading "${h1En}", no German sentences`);
	check(/Show files/.test((await en.locator('#show').innerText()).trim()), 'English page: #show says "Show files"');
	check(await tabTo(en, 'show'), 'keyboard: Tab reaches #show');
	await en.keyboard.press('Enter');
	const kbd = await en.locator('a.download').first().waitFor({ state: 'visible', timeout: 60000 }).then(() => true, () => false);
	check(kbd, 'keyboard: Enter on #show unlocks and lists the files');
	await en.screenshot({ path: path.join(art, 'portal-files-en.png'), fullPage: true });

	// ---- a page without the fragment (rewriter dropped it): the access code field ----------------
	const code = await newPage(ctx, 'code', 'en');
	await code.goto(base, { waitUntil: 'load' });
	await code.fill('#code', link.replace(/.*#/, ''));
	await code.click('#show');
	const byCode = await code.locator('a.download').first().waitFor({ state: 'visible', timeout: 60000 }).then(() => true, () => false);
	check(byCode, 'no fragment: the secret typed into #code unlocks');

	// ---- password transfer -----------------------------------------------------------------------
	if (env.PW_LINK) {
		const pw = await newPage(ctx, 'password', 'de');
		await pw.goto(env.PW_LINK, { waitUntil: 'load' });
		check(await pw.locator('#password').count() === 1, 'password transfer: the page has #password');
		check(await pw.locator('#password').evaluate((e) => !!(e.labels && e.labels.length) || !!e.getAttribute('aria-label')),
			'#password has a label');
		expectedConsole = /status of 401/;  // Chromium logs the refused POST itself
		await pw.fill('#password', 'wxyz-wxyz-wxyz-wxyz');
		await pw.click('#show');
		// the refusal comes after the server's password hash (slow under ASan on a loaded machine):
		// wait for the page to show it, not for a fixed time
		await pw.locator('#status.error').waitFor({ state: 'visible', timeout: 60000 }).catch(() => {});
		check(await pw.locator('a.download').count() === 0, 'password transfer: a wrong password lists no files');
		check(/Passwort ist falsch/.test(await pw.locator('body').innerText()), 'password transfer: a wrong password says so ("Passwort ist falsch")');
		await pw.screenshot({ path: path.join(art, 'portal-password-wrong.png'), fullPage: true });
		expectedConsole = null;
		await pw.fill('#password', env.PASSWORD);
		await pw.click('#show');
		const r = await downloadFirst(pw, dldir, 'pw');
		check(sha256(r.file) === env.PW_SHA256, 'password transfer: downloaded file has the original SHA-256');
		await pw.screenshot({ path: path.join(art, 'portal-password-files.png'), fullPage: true });
	} else {
		console.log('# skip: password flow (no password transfer provided)');
	}

	// ---- unknown transfer: a clear page ----------------------------------------------------------
	const nf = await newPage(ctx, 'unknown', 'en');
	const r404 = await nf.goto(base.replace(/\/t\/[a-z2-7]+$/, '/t/aaaaaaaaaaaaaaaaaaaaaaaa'), { waitUntil: 'load' });
	expectedConsole = null;
	check(r404 && r404.status() === 404, `unknown transfer: HTTP 404 page (${r404 && r404.status()})`);
	problems.splice(0, problems.length, ...problems.filter((p) => !/^unknown: console error: Failed to load resource: .*404/.test(p)));

	if (env.GONE_LINK) {
		const gone = await newPage(ctx, 'gone', 'de');
		const r410 = await gone.goto(env.GONE_LINK, { waitUntil: 'load' });
		check(r410 && r410.status() === 410, `revoked transfer: HTTP 410 (${r410 && r410.status()})`);
		const t = await gone.locator('body').innerText();
		check(/Nicht mehr verfügbar/.test(t) && await gone.locator('#show').count() === 0,
			'revoked transfer: German "Nicht mehr verfügbar" page without a #show button');
		await gone.screenshot({ path: path.join(art, 'portal-gone-de.png'), fullPage: true });
		problems.splice(0, problems.length, ...problems.filter((p) => !/^gone: console error: Failed to load resource: .*410/.test(p)));
	}

	// ---- a phone-sized window: no horizontal scrolling ------------------------------------------
	const phone = await newPage(ctx, 'phone', 'de');
	await phone.setViewportSize({ width: 360, height: 640 });
	await phone.goto(link, { waitUntil: 'load' });
	await phone.click('#show');
	await phone.locator('a.download').first().waitFor({ state: 'visible', timeout: 60000 }).catch(() => {});
	const sw = await phone.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
	check(sw[0] <= sw[1], `360 px wide window: no horizontal scrolling (content ${sw[0]} px)`);
	await phone.screenshot({ path: path.join(art, 'portal-phone-de.png'), fullPage: true });

	// ---- the HTML notice of a rewritten mail, as a mail client shows it ------------------------
	if (env.NOTICE_HTML) {
		for (const width of [360, 1280]) {
			const np = await newPage(ctx, `notice-${width}`, 'de');
			await np.setViewportSize({ width, height: 900 });
			await np.goto('file://' + env.NOTICE_HTML, { waitUntil: 'load' });
			const r = await np.evaluate(() => {
				const b = [...document.querySelectorAll('a')].find((a) => a.textContent === 'Dateien abholen / Collect files');
				const box = b ? b.getBoundingClientRect() : null;
				return { sw: document.documentElement.scrollWidth, w: window.innerWidth,
					button: box ? [box.width, box.height] : null,
					raw: [...document.querySelectorAll('a')].some((a) => a.textContent === a.getAttribute('href')),
					text: document.body.innerText };
			});
			check(r.button && r.button[0] > 100 && r.button[1] >= 36,
				`notice at ${width} px: the link is a button "Dateien abholen / Collect files" (${r.button})`);
			check(r.raw, `notice at ${width} px: the raw URL is shown too`);
			check(r.sw <= r.w, `notice at ${width} px: no horizontal scrolling (content ${r.sw} px)`);
			check(/Passwort: nicht n\u00f6tig\./.test(r.text) && /Wir fragen nie nach Zugangsdaten/.test(r.text) &&
				/Max Muster \(alice@example\.org\) hat Ihnen Dateien geschickt\./.test(r.text),
				`notice at ${width} px: sender, password line and authenticity hint are there`);
			await np.screenshot({ path: path.join(art, `notice-html-${width}.png`), fullPage: true });
		}
	}

	const secrets = [link, env.PW_LINK || ''].filter((l) => l.includes('#')).map((l) => l.replace(/.*#/, ''));
	const leaks = requests.filter((r) => secrets.some((x) => r.url.includes(x) || r.referer.includes(x)));
	check(requests.length > 5 && leaks.length === 0,
		`no request URL or Referer carries the fragment secret (${requests.length} requests, ${leaks.length} leaks)`);
	const refs = requests.filter((r) => r.referer !== '');
	check(refs.length === 0, `no request sends a Referer (Referrer-Policy: no-referrer) (${refs.map((r) => r.url).join(' ')})`);

	const fav = problems.filter((p) => /favicon\.ico/.test(p));
	check(fav.length === 0, `the browser's automatic /favicon.ico request causes no console error (${fav.length})`);
	problems.splice(0, problems.length, ...problems.filter((p) => !/favicon\.ico/.test(p)));
	check(problems.length === 0, `no console errors, page errors or CSP violations (${problems.length})`);
	for (const p of problems) console.log(`#   ${p}`);
}

main().then(
	() => { console.log(`# node: ${pass} passed, ${fail} failed`); process.exit(fail ? 1 : 0); },
	(e) => { notOk(`browser run: ${e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e}`); process.exit(1); });

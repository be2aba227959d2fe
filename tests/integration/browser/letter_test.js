// letter_test.js - the letter view of the portal (issue 11) in headless Debian Chromium through
// playwright-core (run by tests/integration/test_browser_letter.sh): unlock a transfer holding
// an offloaded letter at 360 px width, reach "Brief lesen" with the keyboard only, read From,
// Date, Subject and the text in the page, download the letter's attachment byte-exact, the .eml
// itself still downloads; headings, names, lang, focus; no horizontal scrolling, no console
// errors, no CSP violations. Prints TAP-like lines; the shell script counts them.
//
// Environment: LINK, SUBJECT, TEXT (a line of the body), ATT_NAME, ATT_SHA256, ARTIFACTS, UDD, DLDIR
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
const problems = [];

async function newPage(ctx, label, lang, width) {
	const page = await ctx.newPage();
	await page.setExtraHTTPHeaders({ 'Accept-Language': lang });
	await page.setViewportSize({ width, height: 740 });
	page.on('console', (m) => { if (m.type() === 'error') problems.push(`${label}: console error: ${m.text()}`); });
	page.on('pageerror', (e) => problems.push(`${label}: page error: ${e.message}`));
	return page;
}

async function tabToSelector(page, sel, max = 30) {
	for (let i = 0; i < max; i++) {
		await page.keyboard.press('Tab');
		if (await page.evaluate((s) => document.activeElement && document.activeElement.matches(s), sel))
			return true;
	}
	return false;
}

async function download(page, locator, label) {
	const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 90000 }), locator.click()]);
	const file = path.join(env.DLDIR, `${label}-${dl.suggestedFilename().replace(/[\/\\]/g, '_')}`);
	await dl.saveAs(file);
	return { dl, file };
}

async function run(ctx) {
	const art = env.ARTIFACTS;
	// ---- phone, German, keyboard only ---------------------------------------------------------
	const p = await newPage(ctx, 'phone', 'de', 360);
	await p.goto(env.LINK, { waitUntil: 'load' });
	check(await tabToSelector(p, '#show'), 'keyboard: Tab reaches "Dateien anzeigen"');
	await p.keyboard.press('Enter');
	const read = p.locator('button.read').first();
	await read.waitFor({ state: 'visible', timeout: 60000 });
	check(await read.getAttribute('aria-expanded') === 'false' && (await read.getAttribute('aria-label')).startsWith('Brief lesen: '),
		'the .eml file has a "Brief lesen" button named with the file, aria-expanded=false');
	check(await tabToSelector(p, 'button.read'), 'keyboard: Tab reaches "Brief lesen" (after the file\'s download link)');
	await p.keyboard.press('Enter');
	const h3 = p.locator('section.letter h3');
	await h3.waitFor({ state: 'visible', timeout: 60000 });
	check(await h3.textContent() === env.SUBJECT, `the letter's heading is its subject (${await h3.textContent()})`);
	check(await p.evaluate(() => document.activeElement && document.activeElement.tagName === 'H3'),
		'focus moves to the letter heading');
	const st = await p.evaluate(() => {
		const b = document.querySelector('button.read'), s = document.getElementById(b.getAttribute('aria-controls'));
		const h = document.getElementById(s.getAttribute('aria-labelledby'));
		return { exp: b.getAttribute('aria-expanded'), label: h && h.tagName, lang: document.querySelector('.ltext').getAttribute('lang'),
			dts: [...s.querySelectorAll('dt')].map((e) => e.textContent), dds: [...s.querySelectorAll('dd')].map((e) => e.textContent),
			time: (s.querySelector('time') || {}).dateTime || '', text: document.querySelector('.ltext').textContent,
			heads: [...document.querySelectorAll('h1,h2,h3,h4')].map((e) => e.tagName).join(','),
			status: document.getElementById('status').textContent, htmlLang: document.documentElement.lang };
	});
	check(st.exp === 'true' && st.label === 'H3', 'button aria-expanded=true; aria-controls names the section, labelled by its heading');
	check(st.dts.join('|') === 'Von|An|Datum' && st.dds[0].includes('alice@example.org') && st.time !== '',
		`header fields: ${st.dts.join('|')} = ${st.dds.join(' | ')}`);
	check(st.text.split('\n').includes(env.TEXT), `the letter text is shown as text ("${env.TEXT}")`);
	check(st.lang === 'de' && st.htmlLang === 'de', 'lang: page de, letter text lang=de (Content-Language)');
	check(st.heads === 'H1,H2,H3,H4', `heading order ${st.heads}`);
	check(st.status === 'Brief angezeigt.', `status live region says "${st.status}"`);
	const sw = await p.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
	check(sw[0] <= sw[1], `360 px: no horizontal scrolling with the letter open (content ${sw[0]} px)`);
	await p.screenshot({ path: path.join(art, 'letter-phone-de.png'), fullPage: true });

	// the letter's attachment, by keyboard focus then click: byte-exact
	const att = p.locator('section.letter a.download').first();
	check(await att.getAttribute('aria-label') === `Herunterladen: ${env.ATT_NAME}`, 'the attachment link is named with its file');
	const a = await download(p, att, 'att');
	check(a.dl.suggestedFilename() === env.ATT_NAME, `attachment file name "${a.dl.suggestedFilename()}"`);
	check(sha256(a.file) === env.ATT_SHA256, 'the attachment downloads byte-exact (SHA-256)');
	const e = await download(p, p.locator('ul.files > li > a.download').first(), 'eml');
	check(e.dl.suggestedFilename().endsWith('.eml') && fs.readFileSync(e.file, 'latin1').includes('Content-Language: de'),
		`the .eml itself still downloads (${e.dl.suggestedFilename()})`);
	await p.locator('button.read').first().click();
	check(await p.locator('section.letter').isHidden() && await read.getAttribute('aria-expanded') === 'false',
		'"Brief ausblenden" hides the letter again');

	// ---- desktop, English -------------------------------------------------------------------------
	const d = await newPage(ctx, 'desktop', 'en', 1024);
	await d.goto(env.LINK, { waitUntil: 'load' });
	await d.click('#show');
	await d.locator('button.read').first().click();
	await d.locator('section.letter h3').waitFor({ state: 'visible', timeout: 60000 });
	check(await d.locator('section.letter h4').textContent() === 'Attachments of the letter', 'English labels');
	await d.screenshot({ path: path.join(art, 'letter-desktop-en.png'), fullPage: true });
	check(problems.length === 0, `no console errors, page errors or CSP violations (${problems.length})`);
	for (const x of problems) console.log(`#   ${x}`);
}

async function main() {
	fs.mkdirSync(env.ARTIFACTS, { recursive: true });
	fs.mkdirSync(env.DLDIR, { recursive: true });
	const ctx = await chromium.launchPersistentContext(env.UDD, {
		executablePath: '/usr/bin/chromium',
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
		acceptDownloads: true,
		downloadsPath: env.DLDIR,
	});
	await ctx.exposeBinding('__offloadCsp', (src, v) => problems.push(`CSP violation: ${v}`));
	await ctx.addInitScript(() => {
		document.addEventListener('securitypolicyviolation', (e) => {
			window.__offloadCsp(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'}`);
		});
	});
	try {
		await run(ctx);
	} finally {
		await ctx.close();
	}
}

main().then(
	() => { console.log(`# node: ${pass} passed, ${fail} failed`); process.exit(fail ? 1 : 0); },
	(e) => { notOk(`browser run: ${e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e}`); process.exit(1); });

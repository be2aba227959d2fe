// upload_test.js - a citizen's reply through the reply link in headless Debian Chromium
// (playwright-core; run by tests/integration/test_browser_upload.sh, NODE_PATH=$SRCDIR/tools/node_modules).
// Portal and offload-upload are one origin behind nginx (TLS with a test certificate).
// Prints TAP-like "ok - ..." / "not ok - ..." lines; the shell script counts them.
//
// Environment:
//   LINK    the notice's portal link (https://127.0.0.1:PORT/t/<id>#<secret>);  ID  its id
//   RLINK   the notice's reply link (/u/<id>#<token>)
//   MSG     the message to type;  SMALL, BIG  the two files (BIG a few MB: it is interrupted)
//   HUGE    a file over [upload] max_size;  EICAR  the EICAR test file
//   ZIP     a zip clamd cannot check (over its MaxFiles);  CLEAN  a small clean file
//   CHUNK   [upload] chunk_size in bytes;  STORE  the file store (objects counted)
//   DAMAGED a file of a few chunks whose parts the script damages before every join, while
//           offload-upload waits there (HOLD: its OFFLOAD_UPLOAD_TEST_HOLD; join0r0..3 made here)
//   RLINK2  the reply link straight on a second offload-upload ([upload] resends = 12; HOLD2 its
//           OFFLOAD_UPLOAD_TEST_HOLD): DAMAGED is sent back until the page gives up
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
let expectedConsole = null;   // a RegExp of console errors a step provokes on purpose
const tus = [];               // every /u/ request the browser made: {phase, method, url, offset}
let phase = '';
const headOffsets = [];       // {phase, path, offset} of every HEAD answer

function countFiles(dir) {
	let n = 0;
	for (const e of fs.readdirSync(dir, { withFileTypes: true }))
		n += e.isDirectory() ? countFiles(path.join(dir, e.name)) : 1;
	return n;
}

async function newPage(ctx, label, width, height) {
	const page = await ctx.newPage();
	await page.setViewportSize({ width, height });
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

// status - waits until #status has class ok or err; its class and text
async function status(page, timeout = 90000) {
	await page.waitForFunction(() => /\b(ok|err)\b/.test(document.getElementById('status').className),
		null, { timeout }).catch(() => {});
	return page.evaluate(() => {
		const s = document.getElementById('status');
		return { cls: s.className, text: s.textContent };
	});
}

async function main() {
	fs.mkdirSync(env.ARTIFACTS, { recursive: true });
	const t0 = Date.now();
	const ctx = await chromium.launchPersistentContext(env.UDD, {
		executablePath: '/usr/bin/chromium',
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
		ignoreHTTPSErrors: true,   // nginx has a test certificate
		viewport: { width: 1280, height: 800 },
	});
	console.log(`# chromium up in ${Date.now() - t0} ms`);
	await ctx.exposeBinding('__offloadCsp', (src, v) => problems.push(`${src.page ? src.page.url() : '?'}: CSP violation: ${v}`));
	await ctx.addInitScript(() => {
		document.addEventListener('securitypolicyviolation', (e) => {
			window.__offloadCsp(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`);
		});
	});
	ctx.on('request', (r) => {
		const u = new URL(r.url());
		if (u.pathname.startsWith('/u/') && !u.pathname.startsWith('/u/static/'))
			tus.push({ phase, method: r.method(), path: u.pathname, offset: r.headers()['upload-offset'] });
	});
	ctx.on('response', (r) => {
		if (r.request().method() === 'HEAD' && new URL(r.url()).pathname.startsWith('/u/'))
			headOffsets.push({ phase, path: new URL(r.url()).pathname, offset: +r.headers()['upload-offset'] });
	});
	try {
		await run(ctx, env.ARTIFACTS);
	} finally {
		await ctx.close();
	}
}

// the reply: notice link, unlock, "send files back", message, two files, network lost, resumed
async function reply(ctx, art) {
	const base = env.LINK.replace(/#.*/, '').replace(/\/t\/.*/, '');
	const p = await newPage(ctx, 'reply', 1280, 800);
	phase = 'portal';
	await p.goto(env.LINK, { waitUntil: 'load' });
	await p.click('#show');
	const reply = p.locator('#reply');
	const shown = await reply.waitFor({ state: 'visible', timeout: 60000 }).then(() => true, () => false);
	const href = shown ? await reply.getAttribute('href') : '';
	check(shown && /alice@example\.org/.test(await reply.innerText()),
		`after unlock the portal page offers "send files back to alice@example.org" (${shown ? await reply.innerText() : 'no #reply'})`);
	check(href === env.RLINK, 'its link is the notice\'s reply link (same origin /u/<id>#<token>)');
	await p.screenshot({ path: path.join(art, 'upload-portal-1280.png'), fullPage: true });

	phase = 'page';
	await reply.click();
	await p.waitForURL(`${base}/u/${env.ID}*`, { timeout: 60000 }).catch(() => {});
	await p.waitForFunction(() => location.hash === '', null, { timeout: 5000 }).catch(() => {});
	check(p.url() === `${base}/u/${env.ID}`, `the upload page is open on the same origin, the token gone from the address bar (${p.url().replace(/#.+/, '#<token>')})`);
	check(await p.locator('#files').evaluate((e) => e.labels.length > 0) && await p.locator('#msg').evaluate((e) => e.labels.length > 0),
		'the file input and the message field have labels');
	check(await tabTo(p, 'files'), 'keyboard: Tab reaches the file input');
	check(await tabTo(p, 'send'), 'keyboard: Tab reaches the send button');
	await p.screenshot({ path: path.join(art, 'upload-page-1280.png'), fullPage: true });

	// the network is lost after two chunks of the big file (file 1) have arrived
	phase = 'first';
	let bigPatches = 0;
	await p.route('**/u/**', (route) => {
		const r = route.request();
		if (r.method() === 'PATCH' && /\/1$/.test(r.url()) && ++bigPatches > 2)
			return route.abort('internetdisconnected');
		return route.continue();
	});
	await p.fill('#msg', env.MSG);
	await p.setInputFiles('#files', [env.SMALL, env.BIG]);
	expectedConsole = /ERR_INTERNET_DISCONNECTED|Failed to fetch/;
	await p.click('#send');
	const lost = await status(p);
	check(lost.cls === 'err' && /resume|setzt fort/.test(lost.text),
		`network lost mid-file: the page says so and offers to resume ("${lost.text}")`);
	await p.unroute('**/u/**');
	const sentFirst = tus.filter((t) => t.phase === 'first' && t.method === 'PATCH' && /\/1$/.test(t.path));
	const reached = 2 * +env.CHUNK;

	// reload (the token stays in the tab's sessionStorage), choose the same files, send again;
	// the upload is slowed down (DevTools network emulation) and the page reloaded again while
	// a chunk is on its way: that chunk is torn off half-way through nginx to the daemon
	phase = 'resume';
	await p.reload({ waitUntil: 'load' });
	expectedConsole = null;
	await p.setInputFiles('#files', [env.SMALL, env.BIG]);
	await p.screenshot({ path: path.join(art, 'upload-resume-1280.png'), fullPage: true });
	const cdp = await ctx.newCDPSession(p);
	await cdp.send('Network.enable');
	await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0,
		downloadThroughput: -1, uploadThroughput: 2 * +env.CHUNK });   // a chunk takes 0.5 s
	const torn = p.waitForRequest((r) => r.method() === 'PATCH' && /\/1$/.test(r.url()) &&
		+r.headers()['upload-offset'] > reached, { timeout: 90000 });
	await p.click('#send');
	const tornReq = await torn.catch(() => null);
	const tornAt = tornReq ? +tornReq.headers()['upload-offset'] : -1;
	expectedConsole = /ERR_ABORTED|Failed to fetch/;
	await p.reload({ waitUntil: 'load' });
	await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0,
		downloadThroughput: -1, uploadThroughput: -1 });
	const res = tus.filter((t) => t.phase === 'resume');
	const heads = res.filter((t) => t.method === 'HEAD').map((t) => t.path.replace(/.*\//, ''));
	const patches = res.filter((t) => t.method === 'PATCH');
	check(sentFirst.length === 3 && heads.includes('0') && heads.includes('1'),
		`the resume asked HEAD for both files' offsets (HEAD of files ${heads.join(',')})`);
	check(patches.length > 0 && patches.every((t) => /\/1$/.test(t.path)) && +patches[0].offset === reached,
		`the resume sent only the rest of the big file, from Upload-Offset ${reached} (first PATCH at ${patches.length ? patches[0].offset : '-'})`);
	check(!res.some((t) => t.method === 'POST'), 'the resume created no new reply and no new file upload (no POST)');
	check(tornAt > reached && tornAt + +env.CHUNK < fs.statSync(env.BIG).size,
		`reloaded while the chunk at offset ${tornAt} was being sent (not the last one)`);

	phase = 'resume2';
	expectedConsole = null;
	await p.setInputFiles('#files', [env.SMALL, env.BIG]);
	await p.click('#send');
	const done = await status(p, 60000);
	check(done.cls === 'ok' && /Gesendet|Sent/.test(done.text), `after the second reload, "send" again completes: "${done.text}"`);
	const res2 = tus.filter((t) => t.phase === 'resume2');
	const head1 = headOffsets.filter((h) => h.phase === 'resume2' && /\/1$/.test(h.path)).map((h) => h.offset);
	const p2 = res2.filter((t) => t.method === 'PATCH');
	check(head1.length === 1 && head1[0] === tornAt && p2.length > 0 && +p2[0].offset === tornAt,
		`the torn chunk is sent again whole: HEAD says ${head1[0]}, the next PATCH starts at ${p2.length ? p2[0].offset : '-'} (torn at ${tornAt})`);
	check(res2.filter((t) => t.method === 'POST').map((t) => t.path.replace(/.*\//, '')).join() === 'commit',
		'then only the commit was POSTed');
	// a second "send" after "Sent" must not start a second reply (one more use of the link)
	const after = await p.evaluate(() => ({ n: document.getElementById('files').files.length,
		msg: document.getElementById('msg').value, dis: document.getElementById('send').disabled }));
	check(after.n === 0 && after.msg === '' && !after.dis,
		`after "Sent" the form is empty (${after.n} files, message "${after.msg}") and can be used for a new reply`);
	const before2 = tus.length;
	await p.click('#send');
	const again = await status(p, 10000);
	check(again.cls === 'err' && tus.length === before2,
		`a second click on "send" after "Sent" sends nothing ("${again.text}")`);
	await p.screenshot({ path: path.join(art, 'upload-sent-1280.png'), fullPage: true });
}

// EICAR, a zip clamd cannot check and a clean file on a phone-sized page: each refused file's
// line says why (the words of the clerk's mail), the reply is sent with the clean file
async function eicar(ctx, art) {
	const p = await newPage(ctx, 'eicar', 360, 640);
	phase = 'eicar';
	await p.goto(env.RLINK, { waitUntil: 'load' });
	const sw = await p.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
	check(sw[0] <= sw[1], `360 px wide window: no horizontal scrolling (content ${sw[0]} px)`);
	await p.screenshot({ path: path.join(art, 'upload-page-360.png'), fullPage: true });
	await p.setInputFiles('#files', [env.EICAR, env.ZIP, env.CLEAN]);
	expectedConsole = /status of 422/;
	await p.click('#send');
	const s = await status(p);
	const li = await p.$$eval('#list li', (l) => l.map((x) => ({ t: x.textContent, c: x.className })));
	const line = (k) => (li[k] ? `"${li[k].t}"` : 'none');
	check(s.cls === 'ok' && /^Gesendet, ohne .* \/ Sent, without the files marked refused above\.$/.test(s.text),
		`EICAR + unscannable zip + clean file: the reply is sent without the refused ones ("${s.text}")`);
	check(li.length === 3 && li[0].c === 'err' &&
		li[0].t === 'eicar.com: abgewiesen (Schadsoftware gefunden) / refused (malware found)',
		`EICAR: its line says malware found, German and English (${line(0)})`);
	check(li.length === 3 && li[1].c === 'err' && li[1].t === 'many.zip: abgewiesen (konnte nicht auf ' +
		'Schadsoftware gepr\u00fcft werden) / refused (could not be checked for malware)',
		`the zip clamd could not check: its line says so, not "malware" (${line(1)})`);
	check(li.length === 3 && li[2].t === 'Anlage.txt: \u2713', `the clean file was accepted (${line(2)})`);
	check(!/resume|setzt fort/.test(s.text), 'the page does not offer to "resume" a refused file');
	const commits = tus.filter((t) => t.phase === 'eicar' && t.method === 'POST' && /\/commit$/.test(t.path));
	check(commits.length === 1, `the page committed the reply once after the refusals (${commits.length})`);
	expectedConsole = null;
	await p.screenshot({ path: path.join(art, 'upload-eicar-360.png'), fullPage: true });
}

// damageFirstPart - flip a bit of the first stored part of the file the last PATCH of phase
// ph went to (the daemon holds before its join meanwhile)
function damageFirstPart(ph) {
	const patch = tus.filter((t) => t.phase === ph && t.method === 'PATCH').pop();
	const id = patch.path.split('/')[3];
	const part = path.join(env.STORE, id.slice(0, 2), id, 'p0s0');
	const b = fs.readFileSync(part);
	b[100] ^= 1;
	fs.writeFileSync(part, b);
}

// a file whose first stored part is damaged before every join (the daemon held there): the
// page sends it again from 0 three times, then the server refuses it as damaged; its line says
// so and the reply is sent with the other file
async function damaged(ctx) {
	const p = await newPage(ctx, 'damaged', 1280, 800);
	phase = 'damaged';
	await p.goto(env.RLINK, { waitUntil: 'load' });
	for (let r = 0; r < 4; r++)
		fs.writeFileSync(path.join(env.HOLD, `join0r${r}`), '');
	await p.setInputFiles('#files', [env.DAMAGED, env.CLEAN]);
	expectedConsole = /status of 4(09|22)/;
	await p.click('#send');
	let held = '';
	for (let r = 0; r < 4; r++) {
		const h = path.join(env.HOLD, `join0r${r}`);
		for (let i = 0; i < 300 && !fs.existsSync(`${h}.held`); i++)
			await new Promise((res) => setTimeout(res, 100));
		if (!fs.existsSync(`${h}.held`)) {
			for (let k = r; k < 4; k++)
				fs.rmSync(path.join(env.HOLD, `join0r${k}`), { force: true });
			break;
		}
		damageFirstPart('damaged');
		held += r;
		fs.unlinkSync(h);
	}
	const s = await status(p);
	const li = await p.$$eval('#list li', (l) => l.map((x) => ({ t: x.textContent, c: x.className })));
	const from0 = tus.filter((t) => t.phase === 'damaged' && t.method === 'PATCH' && /\/0$/.test(t.path) &&
		t.offset === '0').length;
	check(held === '0123' && from0 === 4, `held before each join (${held}): the page sent the file from 0 four times (${from0})`);
	check(s.cls === 'ok' && /Sent, without the files marked refused above/.test(s.text) && li.length === 2 &&
		li[0].c === 'err' && li[0].t === `${path.basename(env.DAMAGED)}: nicht \u00fcbernommen (die gespeicherte ` +
		'Datei ist besch\u00e4digt; bitte in einer neuen Antwort erneut senden) / could not be taken (the stored ' +
		'file is damaged; send it again in a new reply)' && li[1].t === `${path.basename(env.CLEAN)}: \u2713`,
		`refused as damaged the fourth time: its line says so, the other file sent ("${s.text}"; ${li.map((x) => `"${x.t}"`).join(', ')})`);
	expectedConsole = null;
}

// a server that keeps sending the file back (a second offload-upload with [upload] resends = 12,
// straight on its port, held before every join while the script damages the stored part): the
// page stops by itself after 10 returns, says why and that sending again resumes; no commit
async function sentBackForever(ctx) {
	const p = await newPage(ctx, 'sent-back', 1280, 800);
	phase = 'sent-back';
	await p.goto(env.RLINK2, { waitUntil: 'load' });
	for (let r = 0; r < 12; r++)
		fs.writeFileSync(path.join(env.HOLD2, `join0r${r}`), '');
	await p.setInputFiles('#files', env.DAMAGED);
	expectedConsole = /status of 409/;
	await p.click('#send');
	const ended = () => p.evaluate(() => /\b(ok|err)\b/.test(document.getElementById('status').className));
	let held = 0;
	for (let r = 0; r < 12; r++) {
		const h = path.join(env.HOLD2, `join0r${r}`);
		for (let i = 0; i < 600 && !fs.existsSync(`${h}.held`) && !(await ended()); i++)
			await new Promise((res) => setTimeout(res, 50));
		if (!fs.existsSync(`${h}.held`))
			break;
		damageFirstPart('sent-back');
		held++;
		fs.unlinkSync(h);
	}
	for (let r = 0; r < 12; r++)
		fs.rmSync(path.join(env.HOLD2, `join0r${r}`), { force: true });
	const s = await status(p);
	const from0 = tus.filter((t) => t.phase === 'sent-back' && t.method === 'PATCH' && t.offset === '0').length;
	const commits = tus.filter((t) => t.phase === 'sent-back' && /\/commit$/.test(t.path)).length;
	check(held === 11 && from0 === 11 && commits === 0,
		`sent back for ever: the page sent the file from 0 eleven times (${from0}; held ${held}), then stopped, no commit (${commits})`);
	check(s.cls === 'err' && /asked for the file again more than 10 times/.test(s.text) &&
		/\u00f6fter als 10-mal/.test(s.text) && /Send again to resume/.test(s.text),
		`sent back for ever: the page says why it stopped and that sending again resumes ("${s.text}")`);
	expectedConsole = null;
}

// EICAR alone: its line says why, nothing is committed
async function eicarOnly(ctx) {
	const p = await newPage(ctx, 'eicar-only', 360, 640);
	phase = 'eicar-only';
	await p.goto(env.RLINK, { waitUntil: 'load' });
	await p.setInputFiles('#files', env.EICAR);
	expectedConsole = /status of 422/;
	await p.click('#send');
	const s = await status(p);
	const li = await p.$$eval('#list li', (l) => l.map((x) => x.textContent));
	const commits = tus.filter((t) => t.phase === 'eicar-only' && /\/commit$/.test(t.path));
	check(s.cls === 'err' && /No file was accepted, nothing was sent/.test(s.text) && !/resume|setzt fort/.test(s.text) &&
		li.length === 1 && /^eicar\.com: .*refused \(malware found\)$/.test(li[0]) && commits.length === 0,
		`EICAR alone: "${s.text}", its line "${li[0]}", no commit (${commits.length})`);
	expectedConsole = null;
}

// a reply over [upload] max_size: refused before any of its data is sent
async function tooLarge(ctx, art) {
	const p = await newPage(ctx, 'too-large', 360, 640);
	phase = 'huge';
	await p.goto(env.RLINK, { waitUntil: 'load' });
	const before = countFiles(env.STORE);
	await p.setInputFiles('#files', env.HUGE);
	expectedConsole = /status of 413/;
	await p.click('#send');
	const s = await status(p);
	check(s.cls === 'err' && /larger than a reply may be/.test(s.text),
		`over max_size: the page shows the refusal ("${s.text}")`);
	const sent = tus.filter((t) => t.phase === 'huge' && t.method !== 'GET').map((t) => `${t.method} ${t.path}`);
	check(sent.length === 1 && /^POST \/u\/[a-z2-7]{24}$/.test(sent[0]),
		`over max_size: the browser sent only the start request, no file creation and no PATCH (${sent.join(', ')})`);
	check(countFiles(env.STORE) === before, 'over max_size: nothing was written to the store');
	expectedConsole = null;
	await p.screenshot({ path: path.join(art, 'upload-toolarge-360.png'), fullPage: true });
}

async function run(ctx, art) {
	await reply(ctx, art);
	await eicar(ctx, art);
	await damaged(ctx);
	await sentBackForever(ctx);
	await eicarOnly(ctx);
	await tooLarge(ctx, art);
	const fav = /favicon\.ico|status of 404/;
	const rest = problems.filter((p) => !fav.test(p));
	check(rest.length === 0, `no console errors, page errors or CSP violations (${rest.length})`);
	for (const p of rest) console.log(`#   ${p}`);
}

main().then(
	() => { console.log(`# node: ${pass} passed, ${fail} failed`); process.exit(fail ? 1 : 0); },
	(e) => { notOk(`browser run: ${e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e}`); process.exit(1); });

/*
 * audit_verify.c - `offloadctl audit verify`: the hash chain of each file,
 * the links between files (a rotated file ends with a close line, the next
 * begins with an open line whose chain is the hash of that close line), and
 * with the seed from `audit keygen` the seals: each MAC under its epoch's
 * key, epochs 0, 1, 2, ... without a gap, and the last seal one below the
 * epoch the writer's state is at (so cutting the end, which takes seals
 * with it, shows; the writer cannot seal for an epoch whose key it erased).
 * Lines after the last seal are counted (unsealed as yet).
 */
#include "audit_int.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_MAX_EPOCH (1LL << 24) /* 480 years of 15 minute epochs */

struct vctx {
	const struct audit_verify_opts *o;
	struct audit_verify_result *res;
	bool have_prev;                  /* a file before this one was checked */
	char prev[AUDIT_CHAIN_HEX + 1];  /* hash of its last line */
	unsigned char key[AUDIT_KEY_LEN];
	int64_t kepoch;                  /* epoch of key, -1: none yet */
	long bad;                        /* line number of the first broken line */
};

/* audit_line_chain - the chain value at the end of a line, or NULL */
static const char *
audit_line_chain(const char *line, size_t len)
{
	static const char kv[] = "chain=";
	static const char js[] = "\"chain\":\"";
	const char *v;
	size_t i;

	if (len < 1 + AUDIT_CHAIN_HEX || line[len - 1] != '\n')
		return NULL;
	if (len >= sizeof js - 1 + AUDIT_CHAIN_HEX + 3 && strncmp(line + len - 3, "\"}", 2) == 0) {
		v = line + len - 3 - AUDIT_CHAIN_HEX;
		if (strncmp(v - (sizeof js - 1), js, sizeof js - 1) != 0)
			return NULL;
	} else {
		v = line + len - 1 - AUDIT_CHAIN_HEX;
		if (v - line < (ptrdiff_t)(sizeof kv - 1) || strncmp(v - (sizeof kv - 1), kv, sizeof kv - 1) != 0)
			return NULL;
		if (v - (sizeof kv - 1) != line && v[-(ptrdiff_t)sizeof kv] != ' ')
			return NULL;
	}
	for (i = 0; i < AUDIT_CHAIN_HEX; i++)
		if (!g_ascii_isxdigit(v[i]))
			return NULL;
	return v;
}

/* audit_skip_quoted - past a "..." value with backslash escapes */
static const char *
audit_skip_quoted(const char *p)
{
	for (p++; *p != '\0' && *p != '"'; p++)
		if (*p == '\\' && p[1] != '\0')
			p++;
	return *p == '"' ? p + 1 : p;
}

/* audit_line_field - the raw value of field name (unquoted values and
 * numbers only: the ones verify needs), or NULL */
static char *
audit_line_field(const char *line, const char *name)
{
	size_t nl = strlen(name);
	bool json = line[0] == '{';
	const char *p = json ? line + 1 : line;

	while (*p != '\0' && *p != '\n') {
		const char *k = p + (json ? 1 : 0), *v;
		bool match;

		if (json && *p != '"')
			return NULL;
		match = strncmp(k, name, nl) == 0 && k[nl] == (json ? '"' : '=');
		v = json ? audit_skip_quoted(p) : strchr(p, '=');
		if (v == NULL || *v != (json ? ':' : '='))
			return NULL;
		v++;
		p = *v == '"' ? audit_skip_quoted(v) : v + strcspn(v, json ? ",}\n" : " \n");
		if (match)
			return *v == '"' && json ? g_strndup(v + 1, (gsize)(p - v - 2)) :
				g_strndup(v, (gsize)(p - v));
		if (*p == ' ' || *p == ',')
			p++;
		else
			break;
	}
	return NULL;
}

static bool
audit_line_has(const char *line, const char *name)
{
	char *v = strstr(line, name) != NULL ? audit_line_field(line, name) : NULL;

	g_free(v);
	return v != NULL;
}

static bool
audit_line_is(const char *line, const char *event, const char *action)
{
	char *e = audit_line_field(line, "event"), *a = audit_line_field(line, "action");
	bool r = e != NULL && a != NULL && strcmp(e, event) == 0 && strcmp(a, action) == 0;

	g_free(e);
	g_free(a);
	return r;
}

/* audit_key_at - x->key becomes the key of epoch; true if it equals want */
static bool
audit_key_at(struct vctx *x, int64_t epoch, const unsigned char *want)
{
	if (x->kepoch < 0 || x->kepoch > epoch) {
		audit_seal_key0(x->o->seed, x->key);
		x->kepoch = 0;
	}
	for (; x->kepoch < epoch; x->kepoch++)
		audit_seal_evolve(x->key);
	return want == NULL || crypto_memeq(x->key, want, AUDIT_KEY_LEN) == 1;
}

/* verify_mac - the MAC of a seal line under the key of its epoch */
static bool
verify_mac(struct vctx *x, const char *line, size_t len, const char *chain, int64_t epoch)
{
	bool json = line[0] == '{';
	/* the fixed tail after "mac=" / "\"mac\":\"": MAC, then the chain field */
	size_t tail = AUDIT_MAC_HEX + (json ? sizeof "\",\"chain\":\"\"}\n" - 1 : sizeof " chain=\n" - 1) +
		AUDIT_CHAIN_HEX;
	const char *tag = json ? "\"mac\":\"" : " mac=";
	char mac[AUDIT_MAC_HEX + 1];

	if (len < tail + strlen(tag) || strncmp(line + len - tail - strlen(tag), tag, strlen(tag)) != 0)
		return false;
	audit_key_at(x, epoch, NULL);
	audit_seal_mac(x->key, line, len - tail, chain, mac);
	return crypto_memeq(mac, line + len - tail, AUDIT_MAC_HEX) == 1;
}

/* verify_seal - a line with a mac field; 0 or 1 (*err) */
static int
verify_seal(struct vctx *x, const char *path, long n, const char *line, size_t len,
	const char *chain, GError **err)
{
	char *es = audit_line_field(line, "epoch");
	char *end = NULL;
	int64_t epoch = es != NULL ? (int64_t)g_ascii_strtoll(es, &end, 10) : -1;
	int64_t want = x->res->seals == 0 ? x->o->first_epoch : x->res->last_epoch + 1;
	const char *why = NULL;

	if (es == NULL || *end != '\0' || epoch < 0 || epoch > AUDIT_MAX_EPOCH)
		why = "a seal without a valid epoch";
	else if (x->o->seed != NULL && epoch != want && x->res->seals == 0)
		why = "the first seal is not the expected one: give every file since `audit keygen`, "
			"oldest first, or --first-epoch";
	else if (x->o->seed != NULL && epoch != want)
		why = epoch > want ? "seals are missing before this one (lines were cut)" :
			"a seal repeats an earlier epoch";
	else if (x->o->seed != NULL && !verify_mac(x, line, len, chain, epoch))
		why = "the seal's MAC does not match (forged or edited, or another seed)";
	g_free(es);
	if (why != NULL) {
		g_set_error(err, audit_quark(), 1, "%s: line %ld: %s (epoch %" G_GINT64_FORMAT
			", expected %" G_GINT64_FORMAT ")", path, n, why, epoch, want);
		return 1;
	}
	if (x->res->seals++ == 0)
		x->res->first_epoch = epoch;
	x->res->last_epoch = epoch;
	x->res->unsealed = 0;
	return 0;
}

/* verify_first - the chain value the first line of a file must carry */
static int
verify_first(struct vctx *x, const char *path, const char *line, const char *chain,
	char expect[AUDIT_CHAIN_HEX + 1], GError **err)
{
	bool open = audit_line_is(line, "rotate", "open");

	if (open && x->have_prev) {
		memcpy(expect, x->prev, sizeof x->prev);
	} else if (open) {
		memcpy(expect, chain, AUDIT_CHAIN_HEX); /* continues a file not given */
		expect[AUDIT_CHAIN_HEX] = '\0';
	} else if (x->have_prev) {
		g_set_error(err, audit_quark(), 1, "%s: line 1: starts a new chain instead of "
			"continuing the file before it (not the next file after a rotation)", path);
		return 1;
	} else {
		audit_anchor(expect);
	}
	return 0;
}

/* verify_file - 0 intact, 1 broken, -1 unreadable */
static int
verify_file(struct vctx *x, const char *path, bool last, GError **err)
{
	char expect[AUDIT_CHAIN_HEX + 1];
	unsigned char md[CRYPTO_SHA256_LEN];
	char *line = NULL, *lastline = NULL;
	size_t cap = 0;
	ssize_t len;
	long n = 0;
	int rc = 0;
	FILE *f = fopen(path, "re");

	if (f == NULL) {
		g_set_error(err, audit_quark(), 1, "%s: %s", path, g_strerror(errno));
		return -1;
	}
	while (rc == 0 && (len = getline(&line, &cap, f)) > 0) {
		const char *chain = audit_line_chain(line, (size_t)len);

		x->bad = ++n;
		if (chain == NULL) {
			g_set_error(err, audit_quark(), 1, "%s: line %ld: no chain value%s", path, n,
				line[len - 1] != '\n' ? " (incomplete last line)" : "");
			rc = 1;
		} else if (n == 1 && verify_first(x, path, line, chain, expect, err) != 0) {
			rc = 1;
		} else if (strncmp(chain, expect, AUDIT_CHAIN_HEX) != 0) {
			g_set_error(err, audit_quark(), 1, n == 1 ? "%s: line %ld: does not continue the "
				"file before it (a file between them is missing, or its end was cut)" :
				"%s: line %ld: chain mismatch (this line, or the line before it, was "
				"edited, deleted or inserted)", path, n);
			rc = 1;
		} else if (audit_line_has(line, "mac")) {
			rc = verify_seal(x, path, n, line, (size_t)len, chain, err);
		} else {
			x->res->unsealed++;
		}
		x->res->lines++;
		crypto_sha256(line, (size_t)len, md);
		audit_chain_hex(md, expect);
		g_free(lastline);
		lastline = g_strdup(line);
	}
	if (rc == 0 && ferror(f)) {
		g_set_error(err, audit_quark(), 1, "%s: read error: %s", path, g_strerror(errno));
		rc = -1;
	} else if (rc == 0 && !last && (lastline == NULL || !audit_line_is(lastline, "rotate", "close"))) {
		g_set_error(err, audit_quark(), 1, "%s: does not end with a close line (event=rotate "
			"action=close): its end was cut", path);
		rc = 1;
	}
	if (rc == 0) {
		x->bad = 0;
		x->have_prev = true;
		memcpy(x->prev, expect, sizeof expect);
	}
	g_free(lastline);
	free(line);
	fclose(f);
	return rc;
}

/* verify_state - with the seed: the state's key is the seed's key of the
 * state's epoch, and the last seal is the one just before it */
static int
verify_state(struct vctx *x, GError **err)
{
	const char *path = x->o->state_path;
	struct audit_state s;
	int64_t last = x->res->seals > 0 ? x->res->last_epoch : -1;
	int rc = 1;

	if (audit_state_read(path, &s, err) < 0)
		return 1;
	if (!s.keyed) {
		g_set_error(err, audit_quark(), 1, "%s: sealing is not set up in the state (removed?)",
			path);
	} else if (s.epoch > AUDIT_MAX_EPOCH || !audit_key_at(x, (int64_t)s.epoch, s.key)) {
		g_set_error(err, audit_quark(), 1, "%s: its key is not the seed's key for epoch %"
			G_GUINT64_FORMAT " (another seed, or the state was replaced)", path, s.epoch);
	} else if (last + 1 != (int64_t)s.epoch) {
		g_set_error(err, audit_quark(), 1, "the last seal found is epoch %" G_GINT64_FORMAT
			", but the writer is at epoch %" G_GUINT64_FORMAT ": seals were cut from the end "
			"(or the newest file is missing)", last, s.epoch);
	} else {
		rc = 0;
		x->res->tail_checked = true;
	}
	audit_state_close(&s);
	return rc;
}

int
audit_verify_files(const char *const *paths, size_t n, const struct audit_verify_opts *o,
	struct audit_verify_result *res, GError **err)
{
	struct vctx x = { .o = o, .res = res, .kepoch = -1 };
	size_t i;
	int rc = 0;

	memset(res, 0, sizeof *res);
	res->first_epoch = res->last_epoch = -1;
	for (i = 0; i < n && rc == 0; i++)
		rc = verify_file(&x, paths[i], i + 1 == n, err);
	if (rc == 0 && o->seed != NULL && o->state_path != NULL)
		rc = verify_state(&x, err);
	crypto_wipe(x.key, sizeof x.key);
	return rc;
}

long
audit_verify(const char *path, GError **err)
{
	struct audit_verify_opts o = { 0 };
	struct audit_verify_result res;
	struct vctx x = { .o = &o, .res = &res, .kepoch = -1 };
	int rc;

	memset(&res, 0, sizeof res);
	rc = verify_file(&x, path, true, err);
	return rc < 0 ? -1 : rc == 0 ? 0 : x.bad;
}

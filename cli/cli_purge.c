/*
 * cli_purge.c - `offloadctl list [--expired] [--json]` and `offloadctl purge`
 * (DECISIONS.md §6, §7): both walk the whole store with storage_list() (any
 * backend), group the keys by transfer id and read each manifest's clear
 * header, trusting only what the deployment key's MAC verifies
 * (envelope_manifest_header); a header that fails the MAC is "invalid" and
 * never deleted on its say-so.
 *
 * purge deletes, per transfer:
 *  - expired (expires <= now) or revoked (a tombstone "<id>/t" with a valid
 *    MAC): the manifest first, so the transfer disappears at once, then the
 *    file objects;
 *  - the tombstone itself only after its expiry plus --grace (default 7d), so
 *    the portal answers 410 until then;
 *  - file objects of an id with neither manifest nor tombstone (an upload that
 *    died before its manifest) once all of them are older than --orphan-age
 *    (default [storage] orphan_age, 1d: uploads in progress have no manifest
 *    yet);
 *  - a standalone upload link "<id>/l" (no manifest; FORMATS.md §6.11) is
 *    kept until the expiry in its MAC-checked object, then deleted whole
 *    with its use markers (action expired), never as an orphan;
 *  - then the containers a fully deleted id leaves empty (storage_prune:
 *    WebDAV collections, file directories, and their shard when empty);
 *  - last, leftovers of puts that never finished and started more than
 *    --orphan-age ago (storage_abort_stale: S3 multipart uploads, hidden
 *    temporaries of the file and WebDAV backends).
 * Each purged transfer gives one `purge` audit event (action = expired |
 * revoked | orphan | tombstone), each stale upload one with action =
 * stale-upload. Several nodes may purge at once: ENOENT on a delete counts
 * as done. Exit 0, 75 if a temporary storage error left work
 * for the next run, 78 configuration (also a store refusing the listing:
 * credentials, permissions), 64 usage.
 *
 * Memory: one small record per transfer id for the duration of a run.
 * Single-threaded.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <json-glib/json-glib.h>

#include "audit.h"
#include "cli.h"
#include "envelope.h"
#include "keys.h"
#include "log.h"
#include "storage.h"
#include "spool_tmp.h"
#include "storage_keyid.h"
#include "transfer_agreed.h"
#include "transfer.h"
#include "transfer_revoke.h"
#include "transfer_state.h"
#include "transfer_uplink.h"

#define PURGE_MANIFEST_MAX (16u << 20)
#define PURGE_DEFAULT_GRACE (7 * 86400)

enum purge_state { ST_LIVE, ST_EXPIRED, ST_REVOKED, ST_INVALID, ST_ORPHAN, ST_TOMBSTONE, ST_LINK };
static const char *const purge_state_names[] = {
	"live", "expired", "revoked", "invalid", "orphan", "tombstone", "upload-link",
};

struct purge_obj {
	char *key;
	uint64_t size;
	int64_t mtime;
};

struct purge_tx {
	char *id;
	GPtrArray *objs;  /* struct purge_obj *: file objects and anything else but m and t */
	bool has_m, has_t, has_l; /* has_l: a standalone upload link "<id>/l" (FORMATS.md §6.11) */
	int64_t m_mtime, t_mtime, newest;
	uint64_t total;   /* bytes of the file objects */
	guint nfiles;     /* file objects ("<id>/<n>"); side objects (FORMATS.md §6) are not files */
	/* filled by purge_classify() */
	enum purge_state state;
	int64_t created, expires; /* 0 = unknown; expires is the effective expiry */
	int64_t expires_hdr;      /* the clear header's */
	bool header_ok;
};

struct purge_run {
	struct storage *st;
	struct key32 dk;
	GHashTable *txs; /* id -> struct purge_tx * */
	int64_t now;
	int temp_errors;
	/* purge only */
	struct audit *au;
	const struct conf *conf;
	uint64_t grace, orphan_age;
	bool dry, orphan_set;
};

static void
purge_obj_free(gpointer p)
{
	struct purge_obj *o = p;

	g_free(o->key);
	g_free(o);
}

static void
purge_tx_free(gpointer p)
{
	struct purge_tx *t = p;

	g_ptr_array_unref(t->objs);
	g_free(t->id);
	g_free(t);
}

/* purge_collect - storage_list callback: group keys by their first segment */
static int
purge_collect(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	struct purge_run *r = arg;
	const char *slash = strchr(key, '/');
	char *id;
	struct purge_tx *t;

	if (strcmp(key, STORAGE_KEYID_OBJECT) == 0 || g_str_has_prefix(key, TRANSFER_RECIPIENT_PREFIX))
		return 0; /* the deployment key fingerprint, agreed recipient secrets: not transfers */
	id = slash != NULL ? g_strndup(key, (gsize)(slash - key)) : g_strdup(key);
	t = g_hash_table_lookup(r->txs, id);

	if (t == NULL) {
		t = g_new0(struct purge_tx, 1);
		t->id = id;
		t->objs = g_ptr_array_new_with_free_func(purge_obj_free);
		g_hash_table_insert(r->txs, t->id, t);
	} else {
		g_free(id);
	}
	if (mtime > t->newest)
		t->newest = mtime;
	if (slash != NULL && strcmp(slash, "/m") == 0) {
		t->has_m = true;
		t->m_mtime = mtime;
	} else if (slash != NULL && strcmp(slash, "/t") == 0) {
		t->has_t = true;
		t->t_mtime = mtime;
	} else {
		struct purge_obj *o = g_new0(struct purge_obj, 1);

		t->has_l |= slash != NULL && strcmp(slash, "/l") == 0;

		o->key = g_strdup(key);
		o->size = size;
		o->mtime = mtime;
		g_ptr_array_add(t->objs, o);
		if (slash != NULL && slash[1] != '\0' && strspn(slash + 1, "0123456789") == strlen(slash + 1)) {
			t->total += size;
			t->nfiles++;
		}
	}
	return 0;
}

static int
purge_collect_bytes(void *arg, const void *buf, size_t len)
{
	GByteArray *b = arg;

	if (b->len + len > PURGE_MANIFEST_MAX)
		return 1;
	g_byte_array_append(b, buf, (guint)len);
	return 0;
}

/* purge_classify_link - an upload link (no manifest): live until the expiry
 * its MAC-checked object gives, then expired (deleted whole, like a
 * transfer); one failing the MAC is invalid and kept, like a manifest */
static void
purge_classify_link(struct purge_run *r, struct purge_tx *t)
{
	struct transfer_uplink l;
	int rc = transfer_uplink_read(r->st, &r->dk, t->id, NULL, &l);

	if (rc != STORAGE_OK) {
		r->temp_errors += rc == STORAGE_ETEMP;
		t->state = rc == STORAGE_ENOENT ? ST_ORPHAN : ST_INVALID;
		return;
	}
	t->created = l.created;
	t->expires = t->expires_hdr = l.expires;
	t->state = l.expires <= r->now ? ST_EXPIRED : ST_LINK;
}

/* purge_classify - read the manifest header and tombstone of t */
static void
purge_classify(struct purge_run *r, struct purge_tx *t)
{
	struct envelope_header h;
	GByteArray *b = NULL;
	char *key = NULL;
	int64_t revoked_at = 0, t_expires = 0;
	int rc;

	t->state = ST_ORPHAN;
	if (t->has_t) {
		rc = transfer_tombstone_read(r->st, &r->dk, t->id, &revoked_at, &t_expires);
		if (rc < 0 && rc != STORAGE_ENOENT)
			r->temp_errors += rc == STORAGE_ETEMP;
		if (rc == 1) {
			t->state = ST_TOMBSTONE;
			t->expires = t_expires;
		}
	}
	if (!t->has_m) {
		if (t->has_l && t->state == ST_ORPHAN)
			purge_classify_link(r, t);
		return;
	}
	b = g_byte_array_new();
	key = g_strdup_printf("%s/m", t->id);
	rc = storage_get(r->st, key, 0, STORAGE_TO_END, purge_collect_bytes, b);
	if (rc == STORAGE_ENOENT) { /* purged by another node meanwhile */
		t->has_m = false;
		goto out;
	}
	if (rc != STORAGE_OK) {
		r->temp_errors += rc == STORAGE_ETEMP;
		t->state = ST_INVALID;
		goto out;
	}
	if (envelope_manifest_header(b->data, b->len, r->dk.key, &h) != ENVELOPE_OK ||
	    strcmp(h.id, t->id) != 0) {
		log_warning("purge: transfer %s: manifest header fails the deployment key's MAC; "
			"left alone", t->id);
		t->state = ST_INVALID;
		goto out;
	}
	t->header_ok = true;
	t->created = h.created;
	rc = transfer_effective_expiry(r->st, &r->dk, t->id, h.expires, &t->expires);
	if (rc != STORAGE_OK) { /* an extension may be unreadable: keep the transfer */
		r->temp_errors += rc == STORAGE_ETEMP;
		t->state = ST_INVALID;
		goto out;
	}
	t->expires_hdr = h.expires;
	if (t->state == ST_TOMBSTONE)
		t->state = ST_REVOKED;
	else
		t->state = t->expires <= r->now ? ST_EXPIRED : ST_LIVE;
out:
	g_free(key);
	if (b != NULL)
		g_byte_array_unref(b);
}

/* purge_scan - list the store and classify every transfer into *all, an
 * array of struct purge_tx * (owned by r->txs); 0 or an exit status */
static int
purge_scan(struct purge_run *r, GPtrArray **all)
{
	GHashTableIter it;
	gpointer k, v;
	int rc;

	rc = storage_list(r->st, "", purge_collect, r);
	if (rc != STORAGE_OK) {
		fprintf(stderr, "offloadctl: cannot list the store: %s\n", storage_strerror(rc));
		r->temp_errors += rc == STORAGE_ETEMP;
		/* permanent (credentials, permissions): the configuration must change */
		return rc == STORAGE_EPERM ? EX_CONFIG : EX_TEMPFAIL;
	}
	*all = g_ptr_array_new();
	g_hash_table_iter_init(&it, r->txs);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		purge_classify(r, v);
		g_ptr_array_add(*all, v);
	}
	return 0;
}

static gint
purge_cmp(gconstpointer a, gconstpointer b)
{
	const struct purge_tx *x = *(const struct purge_tx *const *)a;
	const struct purge_tx *y = *(const struct purge_tx *const *)b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* purge_time - ISO 8601 UTC, "-" if unknown */
static char *
purge_time(int64_t t)
{
	char *s = t > 0 ? cli_time_iso(t) : NULL;

	return s != NULL ? s : g_strdup("-");
}

/* purge_open - config, deployment key, storage; an exit status on failure */
static int
purge_open(const char *conf_path, struct conf **cp, struct purge_run *r, const char *cmd)
{
	GError *err = NULL;

	*cp = cli_load_conf(conf_path);
	if (*cp == NULL)
		return EX_CONFIG;
	if (keys_load((*cp)->deployment_key_file, &r->dk, &err) != 0) {
		fprintf(stderr, "offloadctl %s: %s\n", cmd, err->message);
		g_error_free(err);
		return EX_CONFIG;
	}
	r->st = storage_open_checked(*cp, &r->dk, false, &err);
	if (r->st == NULL) {
		fprintf(stderr, "offloadctl %s: %s\n", cmd, err->message);
		int rc = g_error_matches(err, STORAGE_ERROR, STORAGE_ETEMP) ? EX_TEMPFAIL : EX_CONFIG;
		g_error_free(err);
		return rc;
	}
	r->txs = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, purge_tx_free);
	r->now = (int64_t)time(NULL);
	return 0;
}

static void
purge_close(struct conf *c, struct purge_run *r)
{
	if (r->txs != NULL)
		g_hash_table_destroy(r->txs);
	storage_free(r->st);
	keys_wipe(&r->dk);
	conf_free(c);
}

/* list_state - what list says: a tombstone is a revoked transfer */
static const char *
list_state(const struct purge_tx *t)
{
	return purge_state_names[t->state == ST_TOMBSTONE ? ST_REVOKED : t->state];
}

static void
list_json_row(JsonBuilder *jb, const struct purge_tx *t, const char *cr, const char *ex)
{
	json_builder_begin_object(jb);
	json_builder_set_member_name(jb, "id");
	json_builder_add_string_value(jb, t->id);
	json_builder_set_member_name(jb, "created");
	json_builder_add_string_value(jb, cr);
	json_builder_set_member_name(jb, "expires");
	json_builder_add_string_value(jb, ex);
	json_builder_set_member_name(jb, "files");
	json_builder_add_int_value(jb, t->nfiles);
	json_builder_set_member_name(jb, "bytes");
	json_builder_add_int_value(jb, (gint64)t->total);
	json_builder_set_member_name(jb, "state");
	json_builder_add_string_value(jb, list_state(t));
	json_builder_end_object(jb);
}

/* list_print - the transfers in creation order, as a table or a JSON array */
static void
list_print(GPtrArray *all, bool json, bool expired_only)
{
	JsonBuilder *jb = NULL;
	guint i;

	g_ptr_array_sort(all, purge_cmp);
	if (json) {
		jb = json_builder_new();
		json_builder_begin_array(jb);
	} else {
		printf("%-24s  %-20s  %-20s  %5s  %12s  %s\n", "ID", "CREATED", "EXPIRES", "FILES",
			"BYTES", "STATE");
	}
	for (i = 0; i < all->len; i++) {
		const struct purge_tx *t = g_ptr_array_index(all, i);
		char *cr, *ex;

		/* list shows transfers (an id with a manifest or a tombstone) and upload links */
		if (!t->has_m && t->state != ST_TOMBSTONE && t->state != ST_REVOKED && !t->has_l)
			continue;
		if (expired_only && t->state != ST_EXPIRED)
			continue;
		cr = purge_time(t->created);
		ex = purge_time(t->expires);
		if (json)
			list_json_row(jb, t, cr, ex);
		else
			printf("%-24s  %-20s  %-20s  %5u  %12llu  %s\n", t->id, cr, ex, t->nfiles,
				(unsigned long long)t->total, list_state(t));
		g_free(cr);
		g_free(ex);
	}
	if (json) {
		json_builder_end_array(jb);
		cli_print_json(jb);
		g_object_unref(jb);
	}
}

int
cli_list(const char *conf_path, int argc, char **argv)
{
	struct purge_run r = { 0 };
	struct conf *c = NULL;
	GPtrArray *all = NULL;
	bool json = false, expired_only = false;
	int i, rc;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			conf_path = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--expired") == 0)
			expired_only = true;
		else {
			fprintf(stderr, "usage: offloadctl list [--config FILE] [--expired] [--json]\n");
			return EX_USAGE;
		}
	}
	rc = purge_open(conf_path, &c, &r, "list");
	if (rc == 0)
		rc = purge_scan(&r, &all);
	if (rc == 0) {
		list_print(all, json, expired_only);
		rc = r.temp_errors > 0 ? EX_TEMPFAIL : 0;
	}
	if (all != NULL)
		g_ptr_array_unref(all);
	purge_close(c, &r);
	return rc;
}

/* purge_del - delete one key; ENOENT (another node was first) is success */
static bool
purge_del(struct purge_run *r, const char *key)
{
	int rc;

	if (r->dry)
		return true;
	rc = storage_delete(r->st, key);
	if (rc == STORAGE_OK || rc == STORAGE_ENOENT)
		return true;
	fprintf(stderr, "offloadctl purge: delete %s: %s\n", key, storage_strerror(rc));
	r->temp_errors++;
	return false;
}

/* purge_del_key - delete "<id>/<what>": the manifest "m" or the tombstone "t" */
static bool
purge_del_key(struct purge_run *r, const char *id, const char *what)
{
	char *key = g_strdup_printf("%s/%s", id, what);
	bool ok = purge_del(r, key);

	g_free(key);
	return ok;
}

/* purge_del_files - every object of t except manifest and tombstone */
static bool
purge_del_files(struct purge_run *r, struct purge_tx *t)
{
	bool ok = true;
	guint i;

	for (i = 0; i < t->objs->len; i++)
		if (!purge_del(r, ((struct purge_obj *)g_ptr_array_index(t->objs, i))->key))
			ok = false;
	return ok;
}

/* purge_prune - the id's objects are all gone: drop its empty containers */
static void
purge_prune(struct purge_run *r, const char *id)
{
	int rc;

	if (r->dry)
		return;
	rc = storage_prune(r->st, id);
	if (rc != STORAGE_OK) {
		fprintf(stderr, "offloadctl purge: prune %s: %s\n", id, storage_strerror(rc));
		r->temp_errors += rc == STORAGE_ETEMP;
	}
}

struct purge_stale {
	struct audit *au;
	unsigned n;
};

/* purge_stale_one - storage_abort_stale callback: audit one aborted upload */
static void
purge_stale_one(void *arg, const char *key, int64_t size, int64_t started)
{
	struct purge_stale *ps = arg;
	struct audit_event ev = { 0 };
	const char *slash = strchr(key, '/');
	char *id = slash != NULL ? g_strndup(key, (gsize)(slash - key)) : g_strdup(key);

	(void)started;
	ev.event = "purge";
	ev.action = "stale-upload";
	ev.transfer = id;
	ev.size = size; /* -1 (unknown to the backend): left out */
	audit_write(ps->au, &ev);
	ps->n++;
	g_free(id);
}

static void
purge_audit(struct audit *au, const struct purge_tx *t, const char *action)
{
	struct audit_event ev = { 0 };
	char *ex = t->expires > 0 ? purge_time(t->expires) : NULL;

	ev.event = "purge";
	ev.size = (int64_t)t->total;
	ev.action = action;
	ev.transfer = t->id;
	ev.expires = ex;
	audit_write(au, &ev);
	g_free(ex);
}

/* purge_past_grace - the tombstone of t may go: expiry plus --grace is past */
static bool
purge_past_grace(const struct purge_run *r, const struct purge_tx *t)
{
	return t->expires + (int64_t)r->grace <= r->now;
}

/* purge_gone - an expired or revoked transfer: the manifest first, so the
 * transfer is gone at once; then its files; an expired one's tombstone and
 * containers once past the grace. True when done. */
static bool
purge_gone(struct purge_run *r, struct purge_tx *t)
{
	bool expired = t->state == ST_EXPIRED;
	bool ok;

	/* re-read the state object just before deleting: an extension written
	 * since the scan (sender page, offloadctl extend) keeps the transfer */
	if (expired) {
		int rc = transfer_effective_expiry(r->st, &r->dk, t->id, t->expires_hdr, &t->expires);

		r->temp_errors += rc == STORAGE_ETEMP;
		if (rc != STORAGE_OK || t->expires > r->now) {
			t->state = ST_LIVE;
			return true;
		}
	}
	ok = purge_del_key(r, t->id, "m");
	ok = ok && purge_del_files(r, t);
	if (ok && expired && t->has_t && purge_past_grace(r, t))
		ok = purge_del_key(r, t->id, "t");
	if (ok && expired && (!t->has_t || purge_past_grace(r, t)))
		purge_prune(r, t->id);
	if (ok)
		purge_audit(r->au, t, expired ? "expired" : "revoked");
	return ok;
}

/* purge_tombstone - revoked earlier: files left over are deleted, the
 * tombstone stays until expiry + grace so the portal answers 410. True when
 * the tombstone went. */
static bool
purge_tombstone(struct purge_run *r, struct purge_tx *t)
{
	if (!purge_del_files(r, t) || !purge_past_grace(r, t) || !purge_del_key(r, t->id, "t"))
		return false;
	purge_prune(r, t->id);
	purge_audit(r->au, t, "tombstone");
	return true;
}

/* purge_orphan - no manifest, no valid tombstone: an upload that died, or
 * junk; kept while an upload could still be running. True when deleted. */
static bool
purge_orphan(struct purge_run *r, struct purge_tx *t)
{
	bool ok;

	if (t->has_m || t->newest + (int64_t)r->orphan_age > r->now)
		return false;
	ok = purge_del_files(r, t);
	if (ok && t->has_t) /* a tombstone with a bad MAC */
		ok = purge_del_key(r, t->id, "t");
	if (!ok)
		return false;
	purge_prune(r, t->id);
	purge_audit(r->au, t, "orphan");
	return true;
}

/* purge_one - act on one transfer; true when it counts for its state */
static bool
purge_one(struct purge_run *r, struct purge_tx *t)
{
	switch (t->state) {
	case ST_LIVE:
		if (!r->dry) /* [notify] reminder before expiry, nothing downloaded: once */
			(void)cli_remind(r->conf, r->st, &r->dk, r->au, t->id, t->created, t->expires, r->now);
		return true; /* kept */
	case ST_INVALID:
	case ST_LINK:
		return true; /* kept */
	case ST_EXPIRED:
	case ST_REVOKED:
		return purge_gone(r, t);
	case ST_TOMBSTONE:
		return purge_tombstone(r, t);
	case ST_ORPHAN:
		return purge_orphan(r, t);
	}
	return false;
}

/* purge_live_upload - storage_abort_stale_keep: key belongs to an id with an
 * object younger than orphan_age (a reply upload still going on: its upload
 * state is rewritten with every chunk, while its multipart upload dates from
 * the file's creation) */
static bool
purge_live_upload(void *arg, const char *key)
{
	struct purge_run *r = arg;
	const char *slash = strchr(key, '/');
	char *id = slash != NULL ? g_strndup(key, (gsize)(slash - key)) : g_strdup(key);
	struct purge_tx *t = g_hash_table_lookup(r->txs, id);

	g_free(id);
	return t != NULL && t->newest + (int64_t)r->orphan_age > r->now;
}

/* purge_abort_stale - leftovers of puts that died (no object of theirs was
 * listed, or none younger than orphan_age); the number aborted (or found,
 * dry run) */
static unsigned
purge_abort_stale(struct purge_run *r)
{
	struct purge_stale ps = { 0 };
	int rc;

	ps.au = r->dry ? NULL : r->au;
	rc = storage_abort_stale_keep(r->st, r->now - (int64_t)r->orphan_age, r->dry, purge_live_upload,
		r, r->dry ? NULL : purge_stale_one, &ps);
	if (rc < 0) {
		/* permanent: e.g. a store (or its access policy) without
		 * ListMultipartUploads; said, but it does not fail the purge */
		fprintf(stderr, "offloadctl purge: stale uploads: %s\n", storage_strerror(rc));
		r->temp_errors += rc == STORAGE_ETEMP;
	} else if (r->dry) {
		ps.n = (unsigned)rc;
	}
	return ps.n;
}

/* purge_spool - the spool files a crashed milter or `offloadctl process`
 * left (named fallback, spool_tmp.h); those a live process holds locked
 * are kept. Said on stdout when there were any. */
static void
purge_spool(const struct purge_run *r, const char *dir)
{
	int n = spool_tmp_sweep(dir, r->dry);

	if (n < 0)
		fprintf(stderr, "offloadctl purge: cannot read the spool %s: %s\n", dir, g_strerror(errno));
	else if (n > 0)
		printf("purge%s: %d spool file%s left by a crash %s in %s\n", r->dry ? " (dry run)" : "",
			n, n == 1 ? "" : "s", r->dry ? "found" : "removed", dir);
}

/* purge_parse_args - -1 on usage */
static int
purge_parse_args(struct purge_run *r, int argc, char **argv, const char **conf_path)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			*conf_path = argv[++i];
		} else if (strcmp(argv[i], "--grace") == 0 && i + 1 < argc) {
			if (conf_parse_duration(argv[++i], &r->grace) != 0)
				return -1;
		} else if (strcmp(argv[i], "--orphan-age") == 0 && i + 1 < argc) {
			if (conf_parse_duration(argv[++i], &r->orphan_age) != 0)
				return -1;
			r->orphan_set = true;
		} else if (strcmp(argv[i], "--dry-run") == 0) {
			r->dry = true;
		} else {
			return -1;
		}
	}
	return 0;
}

int
cli_purge(const char *conf_path, int argc, char **argv)
{
	struct purge_run r = { .grace = PURGE_DEFAULT_GRACE };
	struct conf *c = NULL;
	GPtrArray *all = NULL;
	GError *err = NULL;
	unsigned n[ST_LINK + 1] = { 0 }, n_stale;
	guint i;
	int rc;

	if (purge_parse_args(&r, argc, argv, &conf_path) != 0) {
		fprintf(stderr, "usage: offloadctl purge [--config FILE] [--grace DURATION] "
			"[--orphan-age DURATION] [--dry-run]\n");
		return EX_USAGE;
	}
	rc = purge_open(conf_path, &c, &r, "purge");
	if (rc != 0)
		goto out;
	if (!r.orphan_set)
		r.orphan_age = c->orphan_age;
	r.conf = c;
	/* a dry run changes nothing, so it audits nothing */
	r.au = r.dry ? NULL : audit_open(c, &err);
	if (r.au == NULL && !r.dry) {
		fprintf(stderr, "offloadctl purge: %s\n", err->message);
		rc = EX_CONFIG;
		goto out;
	}
	rc = purge_scan(&r, &all);
	if (rc != 0)
		goto out;
	for (i = 0; i < all->len; i++) {
		struct purge_tx *t = g_ptr_array_index(all, i);

		if (purge_one(&r, t))
			n[t->state]++;
	}
	n_stale = purge_abort_stale(&r);
	printf("purge%s: %u expired, %u revoked, %u orphaned, %u tombstones removed; "
		"%u live, %u upload links, %u invalid kept; %u stale uploads %s%s\n", r.dry ? " (dry run)" : "",
		n[ST_EXPIRED], n[ST_REVOKED], n[ST_ORPHAN], n[ST_TOMBSTONE], n[ST_LIVE], n[ST_LINK], n[ST_INVALID],
		n_stale, r.dry ? "found" : "aborted", r.temp_errors > 0 ? "; temporary errors: run again later" : "");
	purge_spool(&r, c->spool_dir);
	rc = r.temp_errors > 0 ? EX_TEMPFAIL : 0;
out:
	g_clear_error(&err);
	if (all != NULL)
		g_ptr_array_unref(all);
	audit_close(r.au);
	purge_close(c, &r);
	return rc;
}

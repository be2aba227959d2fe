/*
 * cli_escrow.c - `offloadctl escrow keygen PRIVATE PUBLIC` (an X25519 key pair
 * for the archive, no configuration needed) and `offloadctl escrow open --key
 * PRIVATE ID --output DIR`: the archive opens a transfer still in the store
 * with its private key alone (docs/FORMATS.md §6.1) - no link secret, no
 * password, no deployment key; only the [storage] settings of -c are used.
 * Files are written like `offloadctl open` does (verified, then renamed).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <sys/stat.h>
#include <gio/gio.h>

#include "cli.h"
#include "crypto.h"
#include "storage.h"
#include "transfer.h"
#include "transfer_escrow.h"

static int
escrow_keygen(int argc, char **argv)
{
	unsigned char priv[ESCROW_KEY_LEN], pub[ESCROW_KEY_LEN];
	char id[2 * ESCROW_KEYID_LEN + 1];
	GError *err = NULL;
	int rc = EX_CANTCREAT;

	if (argc != 2 || argv[0][0] == '-' || argv[1][0] == '-') {
		fprintf(stderr, "usage: offloadctl escrow keygen PRIVATE PUBLIC\n");
		return EX_USAGE;
	}
	if (transfer_escrow_keygen(priv, pub) != 0) {
		fprintf(stderr, "offloadctl escrow keygen: cannot generate a key\n");
		return EX_SOFTWARE;
	}
	if (transfer_escrow_key_write(argv[0], true, priv, &err) != 0)
		goto out;
	if (transfer_escrow_key_write(argv[1], false, pub, &err) != 0) {
		remove(argv[0]);
		goto out;
	}
	transfer_escrow_key_id(pub, id);
	printf("escrow key id %s\nprivate key %s (keep it off the gateway)\npublic key %s "
		"([archive] escrow_public_key)\n", id, argv[0], argv[1]);
	rc = 0;
out:
	if (err != NULL) {
		fprintf(stderr, "offloadctl escrow keygen: %s\n", err->message);
		g_error_free(err);
	}
	crypto_wipe(priv, sizeof priv);
	return rc;
}

struct escrow_args {
	const char *conf_path, *key, *id, *outdir, *from;
	char *from_id; /* basename of --from */
};

static int
escrow_open_args(struct escrow_args *a, int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			a->conf_path = argv[++i];
		else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
			a->key = argv[++i];
		else if (strcmp(argv[i], "--output") == 0 && i + 1 < argc)
			a->outdir = argv[++i];
		else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			a->from = argv[++i];
		else if (argv[i][0] != '-' && a->id == NULL)
			a->id = argv[i];
		else
			return -1;
	}
	if (a->from != NULL && a->id == NULL)
		a->id = a->from_id = g_path_get_basename(a->from);
	return a->key != NULL && a->id != NULL && a->outdir != NULL ? 0 : -1;
}

/* escrow_from - --from DIR, a folder holding one transfer's objects (m, e, 0, 1, ...:
 * the sample DMS hook's drop folder): the store becomes a temporary file store
 * OUTDIR/.store.XXXXXX whose only entry links to DIR (FORMATS.md §3.4 layout);
 * *tmp is removed by escrow_from_done. 0 or an exit status (message printed) */
static int
escrow_from(struct conf *c, const struct escrow_args *a, char **tmp)
{
	char *abs = g_canonicalize_filename(a->from, NULL);
	char *shard = NULL, *link = NULL;
	GError *err = NULL;
	int rc = EX_CANTCREAT;

	*tmp = g_strdup_printf("%s/.store.XXXXXX", a->outdir);
	if (g_mkdir_with_parents(a->outdir, 0700) != 0 || g_mkdtemp(*tmp) == NULL) {
		fprintf(stderr, "offloadctl escrow open: %s: %s\n", a->outdir, g_strerror(errno));
		g_clear_pointer(tmp, g_free);
		goto out;
	}
	shard = g_strdup_printf("%s/%.2s", *tmp, a->id);
	link = g_strdup_printf("%s/%s", shard, a->id);
	if (mkdir(shard, 0700) != 0 || symlink(abs, link) != 0) {
		fprintf(stderr, "offloadctl escrow open: %s: %s\n", link, g_strerror(errno));
		goto out;
	}
	rc = EX_CONFIG;
	if (conf_set(c, "storage.backend", "file", &err) != 0 ||
	    conf_set(c, "storage.path", *tmp, &err) != 0) {
		fprintf(stderr, "offloadctl escrow open: %s\n", err->message);
		g_error_free(err);
		goto out;
	}
	rc = 0;
out:
	g_free(link);
	g_free(shard);
	g_free(abs);
	return rc;
}

static void
escrow_from_done(char *tmp, const char *id)
{
	char *shard, *link;

	if (tmp == NULL)
		return;
	shard = g_strdup_printf("%s/%.2s", tmp, id);
	link = g_strdup_printf("%s/%s", shard, id);
	unlink(link);
	rmdir(shard);
	rmdir(tmp);
	g_free(link);
	g_free(shard);
	g_free(tmp);
}

/* escrow_storage_rc - exit status and message for a storage error reading what */
static int
escrow_storage_rc(const char *id, const char *what, int src)
{
	fprintf(stderr, "offloadctl escrow open: transfer %s: %s: %s\n", id, what, storage_strerror(src));
	return src == STORAGE_ETEMP ? EX_TEMPFAIL : EX_DATAERR;
}

/* escrow_unwrap - TK from "<id>/e"; 0 or an exit status (message printed) */
static int
escrow_unwrap(struct storage *st, const char *id, const unsigned char priv[ESCROW_KEY_LEN],
	unsigned char tk[32])
{
	char theirs[2 * ESCROW_KEYID_LEN + 1], mine[2 * ESCROW_KEYID_LEN + 1];
	unsigned char pub[ESCROW_KEY_LEN];
	GByteArray *obj = NULL;
	int rc, src = transfer_escrow_get(st, id, &obj);

	if (src == STORAGE_ENOENT) {
		fprintf(stderr, "offloadctl escrow open: transfer %s is not escrowed (it was stored "
			"before [archive] escrow_public_key was set)\n", id);
		return EX_UNAVAILABLE;
	}
	if (src != STORAGE_OK)
		return escrow_storage_rc(id, "escrow object", src);
	rc = transfer_escrow_open(priv, id, obj->data, obj->len, tk, theirs);
	g_byte_array_free(obj, TRUE);
	if (rc == 0)
		return 0;
	if (rc == ESCROW_EKEY && transfer_escrow_public(priv, pub) == 0) {
		transfer_escrow_key_id(pub, mine);
		fprintf(stderr, "offloadctl escrow open: transfer %s is escrowed for key %s, not for "
			"this key (%s)\n", id, theirs, mine);
	} else if (rc == ESCROW_EINVAL) {
		fprintf(stderr, "offloadctl escrow open: transfer %s: malformed escrow object\n", id);
	} else {
		fprintf(stderr, "offloadctl escrow open: transfer %s: the escrow object does not open "
			"with this key (wrong key or damaged object)\n", id);
	}
	return rc == ESCROW_EINTERNAL ? EX_SOFTWARE : EX_DATAERR;
}

/* escrow_open_transfer - the manifest opened with TK alone; 0 or an exit status */
static int
escrow_open_transfer(struct storage *st, const char *id, const unsigned char priv[ESCROW_KEY_LEN],
	struct transfer **t)
{
	unsigned char tk[32];
	GByteArray *m = NULL;
	GError *err = NULL;
	int rc, src = transfer_get_manifest(st, id, &m);

	if (src == STORAGE_ENOENT) {
		fprintf(stderr, "offloadctl escrow open: transfer %s not found (expired, revoked or "
			"never stored)\n", id);
		return EX_NOINPUT;
	}
	if (src != STORAGE_OK)
		return escrow_storage_rc(id, "manifest", src);
	rc = escrow_unwrap(st, id, priv, tk);
	if (rc == 0) {
		*t = transfer_open_obj(st, NULL, id, m->data, m->len, tk, &err);
		if (*t == NULL) {
			fprintf(stderr, "offloadctl escrow open: %s\n", err->message);
			g_error_free(err);
			rc = EX_DATAERR;
		}
	}
	crypto_wipe(tk, sizeof tk);
	g_byte_array_free(m, TRUE);
	return rc;
}

static int
escrow_open(const char *conf_path, int argc, char **argv)
{
	struct escrow_args a = { .conf_path = conf_path };
	unsigned char priv[ESCROW_KEY_LEN];
	struct conf *c = NULL;
	struct storage *st = NULL;
	struct transfer *t = NULL;
	GError *err = NULL;
	char *tmp = NULL;
	guint i;
	int rc = EX_USAGE;

	if (escrow_open_args(&a, argc, argv) != 0) {
		fprintf(stderr, "usage: offloadctl [-c FILE] escrow open --key PRIVATE (ID | --from DIR) "
			"--output DIR\n");
		goto out;
	}
	rc = EX_DATAERR;
	if (!transfer_valid_id(a.id)) {
		fprintf(stderr, "offloadctl escrow open: not a transfer id: %s\n", a.id);
		goto out;
	}
	rc = EX_NOINPUT;
	if (transfer_escrow_key_read(a.key, true, priv, &err) != 0) {
		fprintf(stderr, "offloadctl escrow open: %s\n", err->message);
		g_clear_error(&err);
		goto out;
	}
	c = cli_load_conf(a.conf_path);
	rc = EX_CONFIG;
	if (c == NULL || (a.from != NULL && (rc = escrow_from(c, &a, &tmp)) != 0))
		goto out;
	st = storage_open(c, &err);
	if (st == NULL) {
		fprintf(stderr, "offloadctl escrow open: storage: %s\n", err->message);
		rc = err->code == STORAGE_ETEMP ? EX_TEMPFAIL : EX_CONFIG;
		g_error_free(err);
		goto out;
	}
	rc = escrow_open_transfer(st, a.id, priv, &t);
	if (rc == 0 && g_mkdir_with_parents(a.outdir, 0700) != 0) {
		fprintf(stderr, "offloadctl escrow open: %s: %s\n", a.outdir, g_strerror(errno));
		rc = EX_CANTCREAT;
	}
	for (i = 0; rc == 0 && i < t->files->len; i++)
		rc = cli_open_write_file(t, i, a.outdir);
out:
	crypto_wipe(priv, sizeof priv);
	transfer_free(t);
	storage_free(st);
	escrow_from_done(tmp, a.id);
	g_free(a.from_id);
	conf_free(c);
	return rc;
}

int
cli_escrow(const char *conf_path, int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "keygen") == 0)
		return escrow_keygen(argc - 1, argv + 1);
	if (argc >= 1 && strcmp(argv[0], "open") == 0)
		return escrow_open(conf_path, argc - 1, argv + 1);
	fprintf(stderr, "usage: offloadctl escrow keygen PRIVATE PUBLIC\n"
		"       offloadctl [-c FILE] escrow open --key PRIVATE (ID | --from DIR) --output DIR\n");
	return EX_USAGE;
}

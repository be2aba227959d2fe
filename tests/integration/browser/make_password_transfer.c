/*
 * make_password_transfer.c - test helper for test_browser.sh (compiled there against
 * $BUILD/liboffload.a): writes one password-protected transfer of FILE into the store of
 * CONF with the real transfer code (the pipeline cannot deliver passwords yet), and prints
 * the link (under PORTAL_URL) and the generated password, one per line.
 *   make_password_transfer CONF FILE NAME PORTAL_URL
 * Single-threaded; exits 0 or 1.
 */
#include <stdio.h>
#include <time.h>

#include "conf.h"
#include "keys.h"
#include "storage.h"
#include "transfer.h"
#include "transfer_password.h"

int
main(int argc, char **argv)
{
	struct conf *c = NULL;
	struct storage *st = NULL;
	struct transfer *t = NULL;
	struct transfer_upload *u;
	struct key32 dk = { 0 };
	GError *err = NULL;
	FILE *in = NULL;
	char buf[65536], *link = NULL;
	const char *pw = NULL;
	size_t n;
	int e = 0, rc = 1;

	if (argc != 5) {
		fprintf(stderr, "usage: make_password_transfer CONF FILE NAME PORTAL_URL\n");
		return 1;
	}
	c = conf_load(argv[1], &err);
	if (c == NULL || keys_load(c->deployment_key_file, &dk, &err) != 0 ||
	    (st = storage_open(c, &err)) == NULL) {
		fprintf(stderr, "make_password_transfer: %s\n", err ? err->message : "?");
		goto out;
	}
	in = fopen(argv[2], "rb");
	if (in == NULL) {
		perror(argv[2]);
		goto out;
	}
	t = transfer_new(st, (int64_t)time(NULL), c->retention);
	t->sender = g_strdup("alice@example.org");
	u = transfer_upload_begin(t, argv[3], "application/pdf", &e);
	if (u == NULL)
		goto out;
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		if (transfer_upload_write(u, buf, n) != 0) {
			transfer_upload_abort(u);
			goto out;
		}
	if (transfer_upload_commit(u) == 0)
		pw = transfer_set_password(t);
	if (pw == NULL || transfer_commit(t, &dk) != 0) {
		fprintf(stderr, "make_password_transfer: storing failed\n");
		goto out;
	}
	link = transfer_link(t, argv[4]);
	printf("%s\n%s\n", link, pw);
	rc = 0;
out:
	if (in)
		fclose(in);
	g_free(link);
	transfer_free(t);
	storage_free(st);
	keys_wipe(&dk);
	conf_free(c);
	g_clear_error(&err);
	return rc;
}

/*
 * portal_mktransfer.c - test helper for test_portal_http.sh, built by the
 * script against liboffload.a. Two modes:
 *
 *   portal_mktransfer make CONF [--password] [--expires-in SECONDS]
 *       [--sender ADDR] [--revoke-out FILE] [--delivery MODE] [--receipts MODE] FILE[=NAME]...
 *     --receipts first|every|none writes the notify object "<id>/n" (FORMATS.md §6.7)
 *     with the sender's address, as the pipeline does
 *     writes a transfer through the real transfer code (the pipeline has
 *     no password knob yet) and prints the link, then the password if any.
 *     A negative --expires-in writes an already expired transfer.
 *     --revoke-out writes the sender's revoke link (transfer_revoke_link)
 *     to FILE. --delivery phone|separate-mail|agreed writes the info
 *     object "<id>/i" (FORMATS.md §6.2) with that password delivery mode.
 *
 *   portal_mktransfer reseal CONF TICKET [--id ID] [--index N] [--size N] [--part N]
 *       [--not-after UNIX] [--foreign-key]
 *     opens a download ticket with the portal's ticket key, changes fields
 *     and seals it again (or with a foreign key): forged-ticket tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <glib.h>

#include "conf.h"
#include "keys.h"
#include "log.h"
#include "portal_ticket.h"
#include "storage.h"
#include "transfer.h"
#include "transfer_password.h"

static int
do_make(struct conf *c, int argc, char **argv)
{
	struct storage *st;
	struct key32 dk;
	struct transfer *t;
	GError *err = NULL;
	int64_t now = (int64_t)time(NULL), exp_in = (int64_t)c->retention;
	gboolean pw = FALSE;
	const char *sender = "alice@example.org", *revoke_out = NULL, *delivery = NULL;
	int i, e = 0, receipts = -1;
	char *link;

	if (keys_load(c->deployment_key_file, &dk, &err) != 0 || (st = storage_open(c, &err)) == NULL) {
		fprintf(stderr, "mktransfer: %s\n", err->message);
		return 1;
	}
	for (i = 0; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--password") == 0)
			pw = TRUE;
		else if (strcmp(argv[i], "--expires-in") == 0 && i + 1 < argc)
			exp_in = strtoll(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--sender") == 0 && i + 1 < argc)
			sender = argv[++i];
		else if (strcmp(argv[i], "--revoke-out") == 0 && i + 1 < argc)
			revoke_out = argv[++i];
		else if (strcmp(argv[i], "--delivery") == 0 && i + 1 < argc)
			delivery = argv[++i];
		else if (strcmp(argv[i], "--receipts") == 0 && i + 1 < argc)
			receipts = transfer_receipts_parse(argv[++i]);
		else
			return 64;
	}
	/* created an hour before expiry when already expired */
	t = transfer_new(st, exp_in < 0 ? now + exp_in - 3600 : now, exp_in < 0 ? 3600 : (uint64_t)exp_in);
	t->sender = g_strdup(sender);
	for (; i < argc; i++) {
		char *path = g_strdup(argv[i]), *eq = strchr(path, '='), *data = NULL;
		gsize len = 0;
		struct transfer_upload *u;

		if (eq)
			*eq = '\0';
		if (!g_file_get_contents(path, &data, &len, &err))
			return 1;
		u = transfer_upload_begin(t, eq ? eq + 1 : g_path_get_basename(path), NULL, &e);
		if (u == NULL || transfer_upload_write(u, data, len) != 0 || transfer_upload_commit(u) != 0)
			return 1;
		g_free(data);
		g_free(path);
	}
	if (pw && transfer_set_password(t) == NULL)
		return 1;
	/* the info object (FORMATS.md §6.1): phone, separate-mail or agreed */
	for (i = TRANSFER_DELIVERY_PHONE; delivery != NULL && i <= TRANSFER_DELIVERY_MAX; i++)
		if (strcmp(delivery, transfer_delivery_name((enum transfer_delivery)i)) == 0)
			t->info.delivery = (enum transfer_delivery)i;
	if (receipts >= 0) {
		t->notify_to = t->sender;
		t->receipts = (enum transfer_receipts)receipts;
	}
	if (transfer_commit(t, &dk) != 0)
		return 1;
	if (revoke_out != NULL) {
		char *rl = transfer_revoke_link(t, c->portal_url), *line = g_strdup_printf("%s\n", rl);
		gboolean wrote = g_file_set_contents(revoke_out, line, -1, &err);

		g_free(line);
		g_free(rl);
		if (!wrote)
			return 1;
	}
	link = transfer_link(t, c->portal_url);
	printf("%s\n", link);
	if (pw)
		printf("%s\n", t->password);
	g_free(link);
	transfer_free(t);
	storage_free(st);
	return 0;
}

static int
do_reseal(struct conf *c, int argc, char **argv)
{
	struct key32 tk, other;
	struct portal_ticket_keys keys, okeys;
	struct portal_ticket t;
	GError *err = NULL;
	char *s;
	int i, rc;

	if (argc < 1 || keys_load(c->ticket_key_file, &tk, &err) != 0)
		return 1;
	portal_ticket_keys_init(&keys, &tk, NULL);
	rc = portal_ticket_open(&keys, argv[0], 0, &t);
	if (rc != PORTAL_TICKET_OK) {
		fprintf(stderr, "mktransfer: ticket does not open (%d)\n", rc);
		return 1;
	}
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--id") == 0 && i + 1 < argc)
			g_strlcpy(t.id, argv[++i], sizeof t.id);
		else if (strcmp(argv[i], "--index") == 0 && i + 1 < argc)
			t.index = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
			t.size = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--part") == 0 && i + 1 < argc)
			t.part = (uint16_t)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--not-after") == 0 && i + 1 < argc)
			t.not_after = strtoll(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--foreign-key") == 0) {
			memset(&other, 0x77, sizeof other);
			memcpy(other.id, tk.id, sizeof other.id); /* same key id byte, other key */
			portal_ticket_keys_init(&okeys, &other, NULL);
			keys = okeys;
		} else
			return 64;
	}
	s = portal_ticket_seal(&keys, &t);
	if (s == NULL)
		return 1;
	printf("%s\n", s);
	g_free(s);
	return 0;
}

int
main(int argc, char **argv)
{
	struct conf *c;
	GError *err = NULL;

	log_init("mktransfer", true, false);
	if (argc < 3)
		return 64;
	c = conf_load(argv[2], &err);
	if (c == NULL) {
		fprintf(stderr, "mktransfer: %s\n", err->message);
		return 78;
	}
	if (strcmp(argv[1], "make") == 0)
		return do_make(c, argc - 3, argv + 3);
	if (strcmp(argv[1], "reseal") == 0)
		return do_reseal(c, argc - 3, argv + 3);
	return 64;
}

/*
 * cli_recipient.c - `offloadctl recipient set ADDRESS (--password-file F |
 * --generate)`, `recipient list`, `recipient remove ADDRESS`: the agreed
 * recipient secrets of batch senders (transfer_agreed.h, FORMATS.md
 * §6.10). The password is never stored: only its Argon2id output under a
 * per-recipient salt, sealed under a key derived from the deployment key.
 * A transfer whose external recipients all have one opens with the link and
 * any one of their agreed passwords, and no password mail is sent.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "crypto.h"
#include "keys.h"
#include "storage.h"
#include "transfer_agreed.h"
#include "transfer_password.h"

#define GEN_GROUPS 6 /* 24 characters of a 31-letter alphabet: 118 bits */

/* rcp_generate - "xxxx-xxxx-xxxx-xxxx-xxxx-xxxx" (g_malloc'ed) or NULL */
static char *
rcp_generate(void)
{
	static const char alpha[] = TRANSFER_PASSWORD_ALPHABET;
	const unsigned n = sizeof alpha - 1;
	GString *s = g_string_sized_new(GEN_GROUPS * 5);
	unsigned got = 0;

	while (got < GEN_GROUPS * 4) {
		unsigned char b[32];

		if (crypto_random(b, sizeof b) != 0) {
			crypto_wipe(s->str, s->len);
			g_string_free(s, TRUE);
			return NULL;
		}
		for (size_t i = 0; i < sizeof b && got < GEN_GROUPS * 4; i++) {
			if (b[i] >= 256 / n * n)
				continue; /* no modulo bias */
			if (got > 0 && got % 4 == 0)
				g_string_append_c(s, '-');
			g_string_append_c(s, alpha[b[i] % n]);
			got++;
		}
		crypto_wipe(b, sizeof b);
	}
	return g_string_free(s, FALSE);
}

static bool
rcp_address_ok(const char *a)
{
	const char *at = strrchr(a, '@');

	if (at == NULL || at == a || at[1] == '\0' || strlen(a) > TRANSFER_AGREED_ADDR_MAX)
		return false;
	for (; *a; a++)
		if ((unsigned char)*a <= ' ' || *a == '<' || *a == '>' || *a == ',')
			return false;
	return true;
}

/* rcp_set - ADDRESS (--password-file F | --generate) */
static int
rcp_set(struct storage *st, const struct key32 *dk, int argc, char **argv)
{
	const char *addr = NULL, *pwfile = NULL;
	bool gen = false;
	struct transfer_recipient r;
	char *pw = NULL;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--password-file") == 0 && i + 1 < argc)
			pwfile = argv[++i];
		else if (strcmp(argv[i], "--generate") == 0)
			gen = true;
		else if (argv[i][0] != '-' && addr == NULL)
			addr = argv[i];
		else
			return EX_USAGE;
	}
	if (addr == NULL || (pwfile == NULL) == !gen)
		return EX_USAGE;
	if (!rcp_address_ok(addr)) {
		fprintf(stderr, "offloadctl recipient: '%s' is not an e-mail address\n", addr);
		return EX_DATAERR;
	}
	pw = gen ? rcp_generate() : cli_read_password_file("recipient", pwfile);
	if (pw == NULL)
		return gen ? EX_SOFTWARE : EX_NOINPUT;
	if (g_utf8_strlen(pw, -1) < (glong)TRANSFER_AGREED_PW_MIN || !g_utf8_validate(pw, -1, NULL)) {
		fprintf(stderr, "offloadctl recipient: the password must be valid UTF-8 of at least %u "
			"characters\n", TRANSFER_AGREED_PW_MIN);
		crypto_free_string(pw);
		return EX_DATAERR;
	}
	if (transfer_recipient_make(addr, pw, &r) != 0) {
		fprintf(stderr, "offloadctl recipient: cannot derive the agreed secret\n");
		crypto_free_string(pw);
		return EX_SOFTWARE;
	}
	rc = transfer_recipient_put(st, dk, &r);
	if (rc != STORAGE_OK) {
		fprintf(stderr, "offloadctl recipient: cannot store the secret of %s: %s\n", r.address,
			storage_strerror(rc));
		rc = EX_TEMPFAIL;
	} else {
		if (gen)
			printf("%s\t%s\n", r.address, pw);
		else
			printf("%s\tset\n", r.address);
		rc = 0;
	}
	transfer_recipient_clear(&r);
	crypto_free_string(pw);
	return rc;
}

static int
rcp_list(struct storage *st, const struct key32 *dk)
{
	GPtrArray *a = NULL;
	int rc = transfer_recipient_list(st, dk, &a);

	for (guint i = 0; i < a->len; i++)
		printf("%s\n", (const char *)g_ptr_array_index(a, i));
	g_ptr_array_free(a, TRUE);
	if (rc != STORAGE_OK) {
		fprintf(stderr, "offloadctl recipient: cannot list the store: %s\n", storage_strerror(rc));
		return EX_TEMPFAIL;
	}
	return 0;
}

static int
rcp_remove(struct storage *st, const struct key32 *dk, const char *addr)
{
	int rc = transfer_recipient_delete(st, dk, addr);

	if (rc == STORAGE_ENOENT) {
		fprintf(stderr, "offloadctl recipient: %s has no agreed secret\n", addr);
		return EX_NOINPUT;
	}
	if (rc != STORAGE_OK) {
		fprintf(stderr, "offloadctl recipient: cannot remove %s: %s\n", addr, storage_strerror(rc));
		return EX_TEMPFAIL;
	}
	printf("%s\tremoved\n", addr);
	return 0;
}

int
cli_recipient(const char *conf_path, int argc, char **argv)
{
	static const char usage[] = "usage: offloadctl recipient set ADDRESS (--password-file F | --generate)\n"
		"       offloadctl recipient list\n"
		"       offloadctl recipient remove ADDRESS\n";
	struct storage *st = NULL;
	struct key32 dk;
	struct conf *c;
	int rc;

	if (argc < 1 || (strcmp(argv[0], "set") != 0 && strcmp(argv[0], "list") != 0 &&
	    strcmp(argv[0], "remove") != 0) || (strcmp(argv[0], "list") == 0 && argc != 1) ||
	    (strcmp(argv[0], "remove") == 0 && argc != 2)) {
		fputs(usage, stderr);
		return EX_USAGE;
	}
	c = cli_load_conf(conf_path);
	if (c == NULL)
		return EX_CONFIG;
	rc = cli_open_store("recipient", c, &dk, &st);
	if (rc == 0) {
		if (strcmp(argv[0], "set") == 0)
			rc = rcp_set(st, &dk, argc - 1, argv + 1);
		else if (strcmp(argv[0], "list") == 0)
			rc = rcp_list(st, &dk);
		else
			rc = rcp_remove(st, &dk, argv[1]);
		if (rc == EX_USAGE)
			fputs(usage, stderr);
		storage_free(st);
		keys_wipe(&dk);
	}
	conf_free(c);
	return rc;
}

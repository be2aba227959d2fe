/*
 * cli_audit.c - `offloadctl audit verify|rotate|seal|keygen` (offloadctl(8)):
 *   verify [--key SEED|-] [--state FILE | --no-state] [--first-epoch N] [FILE...]
 *     the files in order, oldest first (default: [audit] path); with the
 *     seed from keygen also the seals and, against the writer's state
 *     (default FILE.state of the last FILE), the end. Exit 0 intact,
 *     65 broken, 66 unreadable.
 *   rotate   close the current file with a (sealed) last line (logrotate's
 *            prerotate); the next line starts the next file
 *   seal     write a seal line now (for a timer; writers seal by themselves
 *            at the next event once the interval has passed)
 *   keygen [--interval DURATION] [--force]
 *            set up sealing and print the verification seed once
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "audit.h"
#include "cli.h"
#include "crypto.h"
#include "encoding.h"

struct verify_args {
	const char *key, *state;
	bool no_state;
	int64_t first_epoch;
	GPtrArray *files;
};

/* read_seed - 64 hex from the argument or, for "-", from stdin; 0 or -1 */
static int
read_seed(const char *arg, unsigned char seed[32])
{
	char buf[128];
	int rc;

	if (strcmp(arg, "-") == 0) {
		if (fgets(buf, sizeof buf, stdin) == NULL)
			return -1;
		buf[strcspn(buf, "\r\n")] = '\0';
		arg = buf;
	}
	rc = enc_hex_decode(arg, seed, 32);
	crypto_wipe(buf, sizeof buf);
	return rc == 0 ? 0 : -1;
}

static int
verify_parse(int argc, char **argv, const char **conf_path, struct verify_args *va)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			*conf_path = argv[++i];
		else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
			va->key = argv[++i];
		else if (strcmp(argv[i], "--state") == 0 && i + 1 < argc)
			va->state = argv[++i];
		else if (strcmp(argv[i], "--no-state") == 0)
			va->no_state = true;
		else if (strcmp(argv[i], "--first-epoch") == 0 && i + 1 < argc)
			va->first_epoch = g_ascii_strtoll(argv[++i], NULL, 10);
		else if (argv[i][0] != '-')
			g_ptr_array_add(va->files, argv[i]);
		else
			return -1;
	}
	return 0;
}

static void
verify_report(const struct verify_args *va, const struct audit_verify_result *r)
{
	printf("%s%s: chain intact, %ld lines", (const char *)va->files->pdata[0],
		va->files->len > 1 ? " ..." : "", r->lines);
	if (va->key != NULL && r->seals > 0)
		printf("; %ld seals verified (epochs %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT ")",
			r->seals, r->first_epoch, r->last_epoch);
	else if (r->seals > 0)
		printf("; %ld seals not checked (no --key)", r->seals);
	if (va->key != NULL)
		printf(r->tail_checked ? "; end checked against the state" :
			"; end not checked (--no-state)");
	if (r->seals > 0)
		printf("; %ld lines after the last seal", r->unsealed);
	printf("\n");
}

static int
audit_verify_cmd(const char *conf_path, int argc, char **argv)
{
	struct verify_args va = { .files = g_ptr_array_new() };
	struct audit_verify_opts o = { 0 };
	struct audit_verify_result r;
	unsigned char seed[32];
	struct conf *c = NULL;
	GError *err = NULL;
	char *state = NULL;
	int rc;

	if (verify_parse(argc, argv, &conf_path, &va) < 0) {
		rc = EX_USAGE;
		fprintf(stderr, "usage: offloadctl audit verify [--key SEED|-] [--state FILE | "
			"--no-state] [--first-epoch N] [FILE...]\n");
		goto out;
	}
	if (va.files->len == 0) {
		c = cli_load_conf(conf_path);
		if (c == NULL) {
			rc = EX_CONFIG;
			goto out;
		}
		g_ptr_array_add(va.files, c->audit_path);
	}
	if (va.key != NULL) {
		if (read_seed(va.key, seed) < 0) {
			fprintf(stderr, "offloadctl audit: --key: 64 hexadecimal characters expected\n");
			rc = EX_USAGE;
			goto out;
		}
		o.seed = seed;
		state = va.no_state ? NULL : va.state != NULL ? g_strdup(va.state) :
			g_strconcat(va.files->pdata[va.files->len - 1], ".state", NULL);
		o.state_path = state;
		o.first_epoch = va.first_epoch;
	}
	rc = audit_verify_files((const char *const *)va.files->pdata, va.files->len, &o, &r, &err);
	if (rc == 0)
		verify_report(&va, &r);
	else
		fprintf(stderr, "offloadctl audit: %s\n", err ? err->message : "broken");
	rc = rc == 0 ? 0 : rc < 0 ? EX_NOINPUT : EX_DATAERR;
out:
	crypto_wipe(seed, sizeof seed);
	g_clear_error(&err);
	g_free(state);
	g_ptr_array_unref(va.files);
	conf_free(c);
	return rc;
}

/* audit_write_cmd - rotate, seal, keygen */
static int
audit_write_cmd(const char *conf_path, const char *cmd, int argc, char **argv)
{
	uint64_t interval = 15 * 60;
	bool force = false;
	unsigned char seed[32];
	struct conf *c = NULL;
	struct audit *a = NULL;
	GError *err = NULL;
	int i, rc = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			conf_path = argv[++i];
		else if (strcmp(cmd, "keygen") == 0 && strcmp(argv[i], "--force") == 0)
			force = true;
		else if (strcmp(cmd, "keygen") == 0 && strcmp(argv[i], "--interval") == 0 && i + 1 < argc &&
			 conf_parse_duration(argv[i + 1], &interval) == 0)
			i++;
		else
			return -1;
	}
	c = cli_load_conf(conf_path);
	if (c == NULL)
		return EX_CONFIG;
	a = audit_open(c, &err);
	if (a == NULL)
		rc = -1;
	else if (strcmp(cmd, "rotate") == 0)
		rc = audit_rotate(a, &err);
	else if (strcmp(cmd, "seal") == 0)
		rc = audit_seal(a, &err);
	else if ((rc = audit_keygen(a, (int64_t)interval, force, seed, &err)) == 0) {
		char *hex = enc_hex(seed, sizeof seed);

		printf("%s\n", hex);
		fprintf(stderr, "offloadctl audit: sealing set up for %s (a seal every %" G_GUINT64_FORMAT
			" s).\nThe line above is the verification key (seed): keep it OFF this host (it is "
			"not stored here and\nis shown only now); check with: offloadctl audit verify --key "
			"SEED FILE...\n", c->audit_path, interval);
		crypto_free_string(hex);
		crypto_wipe(seed, sizeof seed);
	}
	if (rc != 0) {
		fprintf(stderr, "offloadctl audit %s: %s\n", cmd, err != NULL ? err->message : "failed");
		rc = EX_IOERR;
	}
	g_clear_error(&err);
	audit_close(a);
	conf_free(c);
	return rc;
}

int
cli_audit(const char *conf_path, int argc, char **argv)
{
	int rc = -1;

	if (argc >= 1 && strcmp(argv[0], "verify") == 0)
		return audit_verify_cmd(conf_path, argc, argv);
	if (argc >= 1 && (strcmp(argv[0], "rotate") == 0 || strcmp(argv[0], "seal") == 0 ||
			  strcmp(argv[0], "keygen") == 0))
		rc = audit_write_cmd(conf_path, argv[0], argc, argv);
	if (rc >= 0)
		return rc;
	fprintf(stderr, "usage: offloadctl audit verify [--key SEED|-] [--state FILE | --no-state] "
		"[--first-epoch N] [FILE...]\n"
		"       offloadctl audit rotate | seal\n"
		"       offloadctl audit keygen [--interval DURATION] [--force]\n");
	return EX_USAGE;
}

/*
 * cli_postfix.c - `offloadctl postfix-setup [--config FILE] [--postfix-dir DIR]
 * [--apply]`: the postconf commands that put offload-milter into this host's
 * Postfix, printed (and with --apply run, then `postfix check`).
 * - the socket as Postfix daemons see it: relative to queue_directory
 *   (smtpd runs chrooted there on Debian; the others chdir into it);
 * - offload before an existing DKIM signer (opendkim, rspamd, dkimpy-milter)
 *   in smtpd_milters and non_smtpd_milters, so the signature covers the
 *   rewritten mail; otherwise first (any milter not recognised might sign);
 * - milter_default_action = tempfail, milter_protocol = 6,
 *   milter_content_timeout above the milter's eom_timeout;
 * - message_size_limit for the submission service only (with a cleanup
 *   service of its own: cleanup enforces the limit too), with warnings on the
 *   global limit (stock 10240000 is below offload_min_size), a queue_minfree
 *   set below 1.5 x the limit and mailbox_size_limit (not below it).
 * Never edits anything without --apply. Exit 0, 64 usage, 69 postconf or
 * postfix check failed, 78 configuration.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"

struct pf {
	const char *dir; /* NULL: Postfix's default */
	bool apply;
	int failed;
};

/* run - argv with optional -c DIR after argv[0]; stdout in *out (may be NULL) */
static int
run(struct pf *pf, const char *const *args, char **out)
{
	GPtrArray *a = g_ptr_array_new();
	GError *e = NULL;
	char *err = NULL;
	int status = -1;
	size_t i;

	g_ptr_array_add(a, (char *)args[0]);
	if (pf->dir != NULL) {
		g_ptr_array_add(a, (char *)"-c");
		g_ptr_array_add(a, (char *)pf->dir);
	}
	for (i = 1; args[i] != NULL; i++)
		g_ptr_array_add(a, (char *)args[i]);
	g_ptr_array_add(a, NULL);
	if (!g_spawn_sync(NULL, (char **)a->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, out, &err,
			  &status, &e)) {
		fprintf(stderr, "offloadctl postfix-setup: %s: %s\n", args[0], e->message);
		g_error_free(e);
		status = -1;
	} else if (!g_spawn_check_wait_status(status, NULL)) {
		fprintf(stderr, "offloadctl postfix-setup: %s failed: %s", args[0], err ? err : "\n");
		status = -1;
	} else {
		status = 0;
	}
	g_free(err);
	g_ptr_array_free(a, TRUE);
	return status;
}

static char *
postconf_get(struct pf *pf, const char *name)
{
	const char *args[] = { "postconf", "-h", name, NULL };
	char *out = NULL;

	if (run(pf, args, &out) != 0) {
		g_free(out);
		return NULL;
	}
	g_strstrip(out);
	return out;
}

/* postconf_service_chroot - the chroot column of the cleanup service ("y"/"n") */
static char *
postconf_service_chroot(struct pf *pf)
{
	const char *args[] = { "postconf", "-Fh", "cleanup/unix/chroot", NULL };
	char *out = NULL;

	if (run(pf, args, &out) != 0 || out == NULL || g_strstrip(out)[0] == '\0') {
		g_free(out);
		return g_strdup("-");
	}
	return out;
}

/* emit - print the command as a shell line; with --apply run it */
static void
emit(struct pf *pf, const char *opt, const char *setting)
{
	const char *args[] = { "postconf", opt, setting, NULL };

	printf("postconf%s%s %s '%s'\n", pf->dir ? " -c " : "", pf->dir ? pf->dir : "", opt, setting);
	if (pf->apply && run(pf, args, NULL) != 0)
		pf->failed++;
}

static bool
is_dkim_signer(const char *m)
{
	static const char *const names[] = { "opendkim", "dkim", "rspamd", ":8891", ":8892", ":11332" };
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(names); i++)
		if (strstr(m, names[i]) != NULL)
			return true;
	return false;
}

/* milter_list - current list with ours removed, inserted before the first
 * recognised DKIM signer, else first */
static char *
milter_list(const char *cur, const char *ours)
{
	char **items = g_strsplit_set(cur ? cur : "", ", \t", -1);
	GString *s = g_string_new(NULL);
	bool placed = false;
	size_t i;

	for (i = 0; items[i] != NULL; i++) {
		if (items[i][0] == '\0' || strcmp(items[i], ours) == 0 || strstr(items[i], "offload/milter.sock"))
			continue;
		if (!placed && is_dkim_signer(items[i])) {
			g_string_append_printf(s, "%s%s", s->len ? ", " : "", ours);
			placed = true;
		}
		g_string_append_printf(s, "%s%s", s->len ? ", " : "", items[i]);
	}
	if (!placed) {
		if (s->len > 0)
			g_string_prepend(s, ", ");
		g_string_prepend(s, ours);
	}
	g_strfreev(items);
	return g_string_free(s, FALSE);
}

/* postfix_socket - the milter socket as Postfix names it */
static char *
postfix_socket(const char *spec, const char *queue_dir)
{
	if (g_str_has_prefix(spec, "unix:")) {
		const char *p = spec + 5;
		size_t n = queue_dir ? strlen(queue_dir) : 0;

		if (n > 0 && strncmp(p, queue_dir, n) == 0 && p[n] == '/')
			return g_strdup_printf("unix:%s", p + n + 1);
		return g_strdup(spec);
	}
	if (g_str_has_prefix(spec, "inet:")) {
		/* libmilter inet:PORT@HOST -> Postfix inet:HOST:PORT */
		const char *at = strchr(spec, '@');

		if (at != NULL)
			return g_strdup_printf("inet:%s:%.*s", at + 1, (int)(at - spec - 5), spec + 5);
		return g_strdup_printf("inet:localhost:%s", spec + 5);
	}
	return g_strdup(spec);
}

static unsigned long long
num(const char *s)
{
	return s ? strtoull(s, NULL, 10) : 0;
}

/* setup_milters - the milter lists (offload before a DKIM signer) and the milter timeouts */
static void
setup_milters(struct pf *pf, const struct conf *c, const char *smtpd, const char *nonsmtpd,
	const char *sock)
{
	const char *lists[2][2] = { { "smtpd_milters", smtpd }, { "non_smtpd_milters", nonsmtpd } };
	char *v, *l;
	int k;

	for (k = 0; k < 2; k++) {
		l = milter_list(lists[k][1], sock);
		v = g_strdup_printf("%s = %s", lists[k][0], l);
		emit(pf, "-e", v);
		g_free(v);
		g_free(l);
	}
	emit(pf, "-e", "milter_default_action = tempfail");
	emit(pf, "-e", "milter_protocol = 6");
	v = g_strdup_printf("milter_content_timeout = %llus", (unsigned long long)c->eom_timeout + 60);
	emit(pf, "-e", v);
	g_free(v);
}

/* setup_submission - the larger size limit for the submission service only */
static void
setup_submission(struct pf *pf, const char *sub, const char *msl, unsigned long long limit)
{
	char *v, *chroot;

	if (sub == NULL) {
		printf("# warning: no submission service in master.cf: message_size_limit (%s) applies to all "
			"mail; enable submission (port 587) for the clients that send large attachments\n", msl);
		return;
	}
	/* cleanup enforces its own message_size_limit too: submission gets a cleanup
	 * service of its own with the larger limit (smtpd's -o alone gives 552
	 * "message file too big" for mail over the global limit) */
	chroot = postconf_service_chroot(pf);
	v = g_strdup_printf("offload-cleanup/unix = offload-cleanup unix n - %s - 0 cleanup", chroot);
	emit(pf, "-M", v);
	g_free(v);
	g_free(chroot);
	v = g_strdup_printf("offload-cleanup/unix/message_size_limit=%llu", limit);
	emit(pf, "-P", v);
	g_free(v);
	v = g_strdup_printf("submission/inet/message_size_limit=%llu", limit);
	emit(pf, "-P", v);
	g_free(v);
	emit(pf, "-P", "submission/inet/cleanup_service_name=offload-cleanup");
}

/* setup_warnings - the size settings that would refuse or strand offloadable mail */
static void
setup_warnings(const struct conf *c, const char *msl, const char *qmf, const char *mbl,
	unsigned long long limit)
{
	if (num(msl) != 0 && num(msl) < c->offload_min_size)
		printf("# warning: message_size_limit = %s is below offload_min_size (%llu): mail that "
			"should be offloaded is refused before the milter sees it (stock Postfix: 10240000)\n",
			msl, (unsigned long long)c->offload_min_size);
	/* 0 = Postfix's own rule: 1.5 x message_size_limit free to accept mail */
	if (qmf != NULL && num(qmf) != 0 && (double)num(qmf) < 1.5 * (double)limit)
		printf("# warning: queue_minfree = %s is below 1.5 x the submission limit (%llu): set "
			"postconf -e 'queue_minfree = %llu'\n", qmf, limit,
			(unsigned long long)(1.5 * (double)limit) + 1);
	if (mbl != NULL && num(mbl) != 0 && num(mbl) < limit)
		printf("# warning: mailbox_size_limit = %s is below the submission limit (%llu): a large "
			"internal mail (not offloaded) cannot be delivered to a local mailbox\n", mbl, limit);
}

/* setup_args - [--config FILE] [--postfix-dir DIR] [--apply]; -1 on usage */
static int
setup_args(struct pf *pf, const char **conf_path, int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			*conf_path = argv[++i];
		else if (strcmp(argv[i], "--postfix-dir") == 0 && i + 1 < argc)
			pf->dir = argv[++i];
		else if (strcmp(argv[i], "--apply") == 0)
			pf->apply = true;
		else
			return -1;
	}
	return 0;
}

int
cli_postfix_setup(const char *conf_path, int argc, char **argv)
{
	struct pf pf = { 0 };
	struct conf *c;
	char *qdir, *sock, *smtpd, *nonsmtpd, *msl, *qmf, *mbl, *sub = NULL;
	const char *sub_args[] = { "postconf", "-M", "submission/inet", NULL };
	int rc = 0;

	if (setup_args(&pf, &conf_path, argc, argv) != 0) {
		fprintf(stderr, "usage: offloadctl postfix-setup [--config FILE] [--postfix-dir DIR] [--apply]\n");
		return EX_USAGE;
	}
	c = cli_load_conf(conf_path);
	if (c == NULL)
		return EX_CONFIG;
	qdir = postconf_get(&pf, "queue_directory");
	smtpd = postconf_get(&pf, "smtpd_milters");
	nonsmtpd = postconf_get(&pf, "non_smtpd_milters");
	msl = postconf_get(&pf, "message_size_limit");
	qmf = postconf_get(&pf, "queue_minfree");
	mbl = postconf_get(&pf, "mailbox_size_limit");
	if (qdir == NULL || msl == NULL) {
		fprintf(stderr, "offloadctl postfix-setup: cannot read Postfix's settings%s%s\n",
			pf.dir ? " in " : "", pf.dir ? pf.dir : "");
		rc = EX_UNAVAILABLE;
		goto out;
	}
	if (run(&pf, sub_args, &sub) != 0 || sub == NULL || g_strstrip(sub)[0] == '\0') {
		g_free(sub);
		sub = NULL;
	}
	sock = postfix_socket(c->socket, qdir);
	printf("# offloadctl postfix-setup: Postfix settings for offload-milter (%s)\n",
		pf.dir ? pf.dir : "default configuration directory");
	setup_milters(&pf, c, smtpd, nonsmtpd, sock);
	setup_submission(&pf, sub, msl, c->max_message_size);
	setup_warnings(c, msl, qmf, mbl, c->max_message_size);
	g_free(sock);
	if (pf.apply) {
		const char *args[] = { "postfix", "check", NULL };

		printf("postfix%s%s check\n", pf.dir ? " -c " : "", pf.dir ? pf.dir : "");
		if (pf.failed > 0 || run(&pf, args, NULL) != 0)
			rc = EX_UNAVAILABLE;
		else
			printf("# applied; run: postfix reload\n");
	}
out:
	g_free(qdir);
	g_free(smtpd);
	g_free(nonsmtpd);
	g_free(msl);
	g_free(qmf);
	g_free(mbl);
	g_free(sub);
	conf_free(c);
	return rc;
}

/*
 * cli_config_check.c - `offloadctl config check [--config FILE] [--daemon]`
 * (also `config --check`): every problem of a configuration, one line each,
 * not only the first.
 *   error   (exit 78): unknown group or key, bad type, range or enum value,
 *           per-level lists naming unknown levels, unreadable key files, a
 *           password class whose password has no way out;
 *   warning (exit 0):  plain http portal URL other than loopback, storage not
 *           reachable, key files not created yet, [notify] gaps (no-reply
 *           senders without fallback_to; a password class whose password null
 *           and no-reply senders cannot receive), internal_domains unset.
 * --daemon (the units' ExecStartPre): errors only, and an unset
 * [policy] internal_domains is an error, so a freshly installed package does
 * not start before the admin has set it.
 * Each key is applied on its own to the defaults (conf_set), so one bad key
 * does not hide the next; the [classify] and [notify] lists are then checked
 * one at a time against the configured levels.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "classify.h"
#include "cli.h"
#include "notify.h"

struct check {
	const char *file;
	bool daemon;
	int errors, warnings;
};

static void G_GNUC_PRINTF(2, 3)
problem_error(struct check *ck, const char *fmt, ...)
{
	va_list ap;

	ck->errors++;
	fprintf(stdout, "%s: error: ", ck->file);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

static void G_GNUC_PRINTF(2, 3)
problem_warning(struct check *ck, const char *fmt, ...)
{
	va_list ap;

	ck->warnings++;
	if (ck->daemon)
		return;
	fprintf(stdout, "%s: warning: ", ck->file);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

/* strip_override - conf_set's messages start with "override: " */
static const char *
strip_override(const char *m)
{
	return g_str_has_prefix(m, "override: ") ? m + 10 : m;
}

/* group_known - a group of the key table (as `config --defaults` prints it) */
static bool
group_known(const char *group)
{
	char *buf = NULL, *hdr;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	bool known;

	if (f == NULL)
		return true;
	conf_print_defaults(f);
	fclose(f);
	hdr = g_strdup_printf("\n[%s]\n", group);
	known = buf != NULL && strstr(buf, hdr) != NULL;
	g_free(hdr);
	free(buf);
	return known;
}

/* apply_file - every key of the file onto c; returns the GKeyFile (or NULL) */
static GKeyFile *
apply_file(struct check *ck, const char *path, struct conf *c)
{
	GKeyFile *kf = g_key_file_new();
	GError *e = NULL;
	char **groups, **keys;
	size_t g, i;

	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &e)) {
		problem_error(ck, "%s", e->message);
		g_error_free(e);
		g_key_file_free(kf);
		return NULL;
	}
	groups = g_key_file_get_groups(kf, NULL);
	for (g = 0; groups[g] != NULL; g++) {
		keys = g_key_file_get_keys(kf, groups[g], NULL, NULL);
		if (keys == NULL || keys[0] == NULL) {
			/* an empty group: only its name can be wrong */
			if (!group_known(groups[g]))
				problem_error(ck, "[%s]: unknown group", groups[g]);
		}
		for (i = 0; keys != NULL && keys[i] != NULL; i++) {
			char *gk = g_strdup_printf("%s.%s", groups[g], keys[i]);
			char *val = g_key_file_get_string(kf, groups[g], keys[i], &e);

			if (val == NULL) {
				problem_error(ck, "[%s] %s: %s", groups[g], keys[i], e->message);
				g_clear_error(&e);
			} else if (conf_set(c, gk, val, &e) < 0) {
				problem_error(ck, "%s", strip_override(e->message));
				g_clear_error(&e);
			}
			g_free(val);
			g_free(gk);
		}
		g_strfreev(keys);
	}
	g_strfreev(groups);
	return kf;
}

/* check_lists - classify_new and notify_check_conf with one [classify] or
 * [notify] list of the file at a time on top of the defaults and levels */
static void
check_lists(struct check *ck, GKeyFile *kf, const struct conf *c)
{
	static const char *const lists[] = {
		"classify.identifier_level", "classify.art9_level", "classify.labels",
		"classify.subject_markers", "classify.thresholds", "classify.findings",
		"classify.action", "classify.body_action", "classify.notice_filenames",
		"classify.retention", "notify.password_delivery",
	};
	struct classify_ctx *cx;
	GError *e = NULL;
	size_t i;

	cx = classify_new(c, &e);
	if (cx != NULL) {
		classify_free(cx);
		if (notify_check_conf(c, c->classify_levels, &e) == 0)
			return;
	}
	g_clear_error(&e);
	/* something is wrong: find each culprit */
	for (i = 0; i < G_N_ELEMENTS(lists); i++) {
		const char *dot = strchr(lists[i], '.');
		char *group = g_strndup(lists[i], (size_t)(dot - lists[i]));
		char *val = g_key_file_get_string(kf, group, dot + 1, NULL);
		char *levels = g_strjoinv(", ", c->classify_levels);
		struct conf *t;

		if (val == NULL) {
			g_free(group);
			g_free(levels);
			continue;
		}
		t = conf_defaults();
		if (conf_set(t, "classify.levels", levels, NULL) == 0 && conf_set(t, lists[i], val, NULL) == 0) {
			if ((cx = classify_new(t, &e)) != NULL) {
				classify_free(cx);
				notify_check_conf(t, t->classify_levels, &e);
			}
			if (e != NULL) {
				problem_error(ck, "[%s] %s: %s", group, dot + 1, e->message);
				g_clear_error(&e);
			}
		}
		conf_free(t);
		g_free(val);
		g_free(group);
		g_free(levels);
	}
}

/* check_key_file - error when it exists but cannot be read, warning when missing */
static void
check_key_file(struct check *ck, const char *what, const char *path)
{
	if (path == NULL || path[0] == '\0')
		return;
	struct stat st;

	if (access(path, R_OK) == 0) {
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
			problem_error(ck, "%s %s: cannot be read: not a regular file", what, path);
		return;
	}
	if (errno == ENOENT)
		problem_warning(ck, "%s %s: not created yet (run offloadctl keygen as root)", what, path);
	else
		problem_error(ck, "%s %s: cannot be read: %s", what, path, g_strerror(errno));
}

static bool
loopback_url(const char *u)
{
	const char *h = u + strlen("http://");

	return g_str_has_prefix(h, "127.") || g_str_has_prefix(h, "localhost") ||
		g_str_has_prefix(h, "[::1]");
}

/* check_password_way - a level whose action is offload+password needs the
 * confirmation (password to the sender) or password_delivery = recipients */
static void
check_password_way(struct check *ck, const struct conf *c)
{
	size_t i;

	for (i = 0; c->classify_action != NULL && c->classify_action[i] != NULL; i++) {
		const char *it = c->classify_action[i], *eq = strchr(it, '=');
		char *level, *act;
		bool pw;

		if (eq == NULL)
			continue;
		act = g_strstrip(g_strdup(eq + 1));
		pw = strcmp(act, "offload+password") == 0;
		g_free(act);
		if (!pw)
			continue;
		level = g_strstrip(g_strndup(it, (size_t)(eq - it)));
		if (!c->notify_confirm && notify_password_to(c, level) == NOTIFY_PASSWORD_TO_SENDER)
			problem_error(ck, "[classify] action %s=offload+password: its password has no way "
				"out ([notify] confirm = false and password_delivery for %s is sender)",
				level, level);
		else if (notify_password_to(c, level) == NOTIFY_PASSWORD_TO_SENDER &&
		    c->notify_fallback_to[0] == '\0')
			problem_warning(ck, "[classify] action %s=offload+password with password_delivery "
				"= sender and no [notify] fallback_to: null and no-reply senders (payroll, "
				"batch jobs) cannot receive the password, so their %s mail is refused (5.7.1) "
				"unless every external recipient has an agreed secret (offloadctl recipient set)",
				level, level);
		g_free(level);
	}
}

static void
check_storage(struct check *ck, const struct conf *c)
{
	struct stat st;

	if (strcmp(c->backend, "file") == 0) {
		if (stat(c->path, &st) != 0)
			problem_warning(ck, "[storage] path %s: %s (the store cannot be reached)", c->path,
				g_strerror(errno));
		else if (!S_ISDIR(st.st_mode))
			problem_warning(ck, "[storage] path %s: not a directory", c->path);
		else if (access(c->path, W_OK | X_OK) != 0)
			problem_warning(ck, "[storage] path %s: not writable by this user (%s)", c->path,
				g_strerror(errno));
	} else if (strcmp(c->backend, "s3") == 0 && (c->endpoint[0] == '\0' || c->bucket[0] == '\0')) {
		problem_warning(ck, "[storage] backend s3 without endpoint or bucket: the store cannot be reached");
	} else if (strcmp(c->backend, "webdav") == 0 && c->url[0] == '\0') {
		problem_warning(ck, "[storage] backend webdav without url: the store cannot be reached");
	} else if (strcmp(c->backend, "s3") == 0 || strcmp(c->backend, "webdav") == 0) {
		if (c->credentials_file[0] != '\0' && access(c->credentials_file, R_OK) != 0)
			problem_error(ck, "[storage] credentials_file %s: cannot be read: %s",
				c->credentials_file, g_strerror(errno));
	}
}

int
cli_config_check(const char *conf_path, bool daemon)
{
	struct check ck = { .file = conf_path ? conf_path : "(defaults)", .daemon = daemon };
	struct conf *c = conf_defaults();
	GKeyFile *kf = NULL;

	if (conf_path != NULL) {
		kf = apply_file(&ck, conf_path, c);
		if (kf == NULL) {
			conf_free(c);
			return EX_CONFIG;
		}
		check_lists(&ck, kf, c);
		if (ck.errors == 0) {
			/* whatever the whole-file load checks beyond single keys */
			GError *e = NULL;
			struct conf *whole = conf_load(conf_path, &e);

			if (whole == NULL) {
				problem_error(&ck, "%s", e->message);
				g_error_free(e);
			}
			conf_free(whole);
		}
	}
	check_key_file(&ck, "[security] deployment_key_file", c->deployment_key_file);
	check_key_file(&ck, "[portal] ticket_key_file", c->ticket_key_file);
	check_key_file(&ck, "[portal] ticket_key_previous_file", c->ticket_key_previous_file);
	check_password_way(&ck, c);
	if (g_str_has_prefix(c->portal_url, "http://") && !loopback_url(c->portal_url))
		problem_warning(&ck, "[portal] url %s: plain http; links and passwords travel in clear "
			"(use https behind the TLS proxy)", c->portal_url);
	check_storage(&ck, c);
	if (c->notify_confirm && c->notify_fallback_to[0] == '\0')
		problem_warning(&ck, "[notify] fallback_to is empty: null and no-reply senders get no "
			"confirmation, and no password under password_delivery = sender");
	if (c->internal_domains == NULL || c->internal_domains[0] == NULL) {
		if (daemon) {
			fprintf(stdout, "offload: [policy] internal_domains is not set in %s: set this "
				"organisation's domains there, then start the service\n", ck.file);
			ck.errors++;
		} else {
			problem_warning(&ck, "[policy] internal_domains is not set: every recipient counts as external");
		}
	}
	if (kf != NULL)
		g_key_file_free(kf);
	conf_free(c);
	if (!daemon)
		printf("%s: %d error%s, %d warning%s\n", ck.file, ck.errors, ck.errors == 1 ? "" : "s",
			ck.warnings, ck.warnings == 1 ? "" : "s");
	return ck.errors > 0 ? EX_CONFIG : 0;
}

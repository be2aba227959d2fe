/*
 * cli_user.c - offloadctl run as root for a command that writes the store,
 * spool or audit log: switch to the user that owns those directories (the
 * package's "offload"), so a root-owned file never blocks the units; refuse
 * with one line when that is impossible. Nothing changes when the directories
 * belong to root or do not exist yet (a developer's or test's private setup).
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"

/* conf_arg - the -c FILE given before the command, else a --config FILE after it */
static const char *
conf_arg(const char *conf_path, int argc, char **argv)
{
	int i;

	for (i = 0; i + 1 < argc; i++)
		if (strcmp(argv[i], "--config") == 0)
			return argv[i + 1];
	return conf_path;
}

int
cli_run_as_owner(const char *cmd, const char *conf_path, int argc, char **argv)
{
	struct conf *c;
	const char *dirs[3];
	char *auditdir = NULL;
	struct passwd *pw = NULL;
	struct stat st;
	const char *owned = NULL;
	size_t i;
	int rc = 0;

	if (geteuid() != 0)
		return 0;
	c = cli_load_conf(conf_arg(conf_path, argc, argv));
	if (c == NULL)
		return 0; /* the command reports the configuration error itself */
	if (c->audit_path != NULL && c->audit_path[0] != '\0')
		auditdir = g_path_get_dirname(c->audit_path);
	dirs[0] = c->spool_dir;
	dirs[1] = auditdir;
	dirs[2] = strcmp(c->backend, "file") == 0 ? c->path : NULL;
	for (i = 0; i < G_N_ELEMENTS(dirs); i++) {
		if (dirs[i] == NULL || stat(dirs[i], &st) != 0 || st.st_uid == 0)
			continue;
		owned = dirs[i];
		break;
	}
	if (owned == NULL)
		goto out;
	errno = 0;
	pw = getpwuid(st.st_uid);
	if (pw == NULL) {
		fprintf(stderr, "offloadctl %s: run as root, but %s belongs to uid %u, which has no "
			"user entry: run it as that user\n", cmd, owned, (unsigned)st.st_uid);
		rc = EX_NOPERM;
	} else if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
		   setuid(pw->pw_uid) != 0) {
		fprintf(stderr, "offloadctl %s: run as root, cannot switch to %s (owner of %s): %s; "
			"run: runuser -u %s -- offloadctl ...\n", cmd, pw->pw_name, owned,
			g_strerror(errno), pw->pw_name);
		rc = EX_NOPERM;
	} else {
		/* files the command creates: group offload may read (portal) */
		umask(0007);
	}
out:
	g_free(auditdir);
	conf_free(c);
	return rc;
}

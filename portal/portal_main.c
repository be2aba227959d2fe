/*
 * portal_main.c - offload-portal: offload-portal [-c FILE] [-f]
 * Loads the config, starts the HTTP service (portal_http.c) and waits for
 * SIGTERM/SIGINT. -f: foreground, log to stderr as well (else syslog only).
 * Libraries are initialised here, before any connection thread starts.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <glib.h>
#include <gmime/gmime.h>

#include "conf.h"
#include "log.h"
#include "portal_http.h"

static void
usage(void)
{
	fprintf(stderr, "usage: offload-portal [-c FILE] [-f]\n");
}

int
main(int argc, char **argv)
{
	const char *path = NULL;
	gboolean fg = FALSE;
	struct conf *c;
	struct portal *p;
	GError *err = NULL;
	sigset_t set;
	int i, sig = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "-f") == 0)
			fg = TRUE;
		else {
			usage();
			return EX_USAGE;
		}
	}
	log_init("offload-portal", fg, true);
	g_mime_init(); /* letters (portal_letter.c) */
	if (path == NULL && g_file_test(CONF_DEFAULT_PATH, G_FILE_TEST_EXISTS))
		path = CONF_DEFAULT_PATH;
	c = conf_load(path, &err);
	if (c == NULL) {
		log_fatal("%s", err->message);
		g_error_free(err);
		return EX_CONFIG;
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* threads inherit the mask */
	p = portal_new(c, &err);
	if (p == NULL) {
		log_fatal("%s", err->message);
		g_error_free(err);
		return EX_CONFIG;
	}
	if (portal_start(p, &err) != 0) {
		log_fatal("%s", err->message);
		g_error_free(err);
		portal_free(p);
		return EX_UNAVAILABLE;
	}
	if (!fg && daemon(0, 0) != 0)
		log_warning("daemon(): %s", g_strerror(errno));
	sigwait(&set, &sig);
	log_info("portal: signal %d, stopping", sig);
	portal_free(p);
	return 0;
}

/*
 * upload_main.c - offload-upload: offload-upload [-c FILE] [-f]
 * The daemon that takes citizen replies through reply links (upload_int.h).
 * Run it as its own user (offload-upload) with write access to the store and
 * the right to submit mail; offload-portal stays read-only.
 * Libraries are initialised here, before any connection thread starts.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <glib.h>
#include <gio/gio.h>
#include <gmime/gmime.h>

#include "conf.h"
#include "log.h"
#include "storage_keyid.h"
#include "upload_int.h"

struct upload *
upload_new(struct conf *c, GError **err)
{
	struct upload *u = g_new0(struct upload, 1);

	u->c = c;
	g_mutex_init(&u->rl_lock);
	u->rl = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	if (g_getenv("OFFLOAD_UPLOAD_TEST_HOLD") != NULL && *g_getenv("OFFLOAD_UPLOAD_TEST_HOLD") != '\0')
		u->test_hold = g_strdup(g_getenv("OFFLOAD_UPLOAD_TEST_HOLD"));
	if (c->upload_chunk_size % ENVELOPE_SEGMENT_SIZE != 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			"[upload] chunk_size must be a multiple of 64K");
		goto fail;
	}
	if (keys_load(c->deployment_key_file, &u->dk, err) != 0)
		goto fail;
	if (transfer_escrow_key_load(c->archive_escrow_public_key, &u->escrow, err) != 0)
		goto fail;
	u->st = storage_open_checked(c, &u->dk, false, err);
	if (u->st == NULL)
		goto fail;
	u->audit = audit_open(c, err);
	if (u->audit == NULL)
		goto fail;
	return u;
fail:
	upload_free(u);
	return NULL;
}

void
upload_free(struct upload *u)
{
	if (u == NULL)
		return;
	if (u->d != NULL)
		MHD_stop_daemon(u->d);
	audit_close(u->audit);
	storage_free(u->st);
	keys_wipe(&u->dk);
	g_hash_table_destroy(u->rl);
	g_mutex_clear(&u->rl_lock);
	g_free(u->test_hold);
	conf_free(u->c);
	g_free(u);
}

int
main(int argc, char **argv)
{
	const char *path = NULL;
	gboolean fg = FALSE;
	struct conf *c;
	struct upload *u;
	GError *err = NULL;
	sigset_t set;
	int sig = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			path = argv[++i];
		} else if (strcmp(argv[i], "-f") == 0) {
			fg = TRUE;
		} else {
			fprintf(stderr, "usage: offload-upload [-c FILE] [-f]\n");
			return EX_USAGE;
		}
	}
	log_init("offload-upload", fg, true);
	g_mime_init();
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
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	u = upload_new(c, &err);
	if (u == NULL) {
		log_fatal("%s", err->message);
		g_error_free(err);
		return EX_CONFIG;
	}
	if (upload_start(u, &err) != 0) {
		log_fatal("%s", err->message);
		g_error_free(err);
		upload_free(u);
		return EX_UNAVAILABLE;
	}
	if (!fg && daemon(0, 0) != 0)
		log_warning("daemon(): %s", g_strerror(errno));
	sigwait(&set, &sig);
	log_info("upload: signal %d, stopping", sig);
	upload_free(u);
	return 0;
}

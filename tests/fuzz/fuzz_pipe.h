/*
 * fuzz_pipe.h - what the pipeline fuzz targets (fuzz_process, fuzz_early)
 * share: a temporary directory (the spool, whose files are nameless, and the
 * deployment key; removed at exit), the default settings with the memory
 * store and no audit log, and the pipeline over them (`conf`, `pipe_`).
 * Included by one target each (static).
 *
 *   fz_pipe_conf();            the settings, for the target to change
 *   conf->offload_min_size = ...;
 *   fz_pipe_start();           the pipeline
 */
#ifndef OFFLOAD_FUZZ_PIPE_H
#define OFFLOAD_FUZZ_PIPE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <glib.h>
#include <gmime/gmime.h>

#include "fuzz.h"
#include "log.h"
#include "pipeline.h"

static struct conf *conf;
static struct pipeline pipe_;
static char *fz_tmp;

/* fz_pipe_cleanup - at exit: the temporary directory and its files */
static void
fz_pipe_cleanup(void)
{
	GDir *d = g_dir_open(fz_tmp, 0, NULL);
	const char *n;

	while (d != NULL && (n = g_dir_read_name(d)) != NULL) {
		char *f = g_build_filename(fz_tmp, n, NULL);

		unlink(f);
		g_free(f);
	}
	if (d != NULL)
		g_dir_close(d);
	rmdir(fz_tmp);
}

/* fz_pipe_conf - logging quiet, GMime up, the settings over a new temporary directory */
static void
fz_pipe_conf(void)
{
	fz_tmp = g_dir_make_tmp("offload-fuzz-XXXXXX", NULL);
	if (fz_tmp == NULL)
		abort();
	atexit(fz_pipe_cleanup);
	log_init("fuzz", false, false); /* hostile input is expected to fail: keep it quiet */
	g_mime_init();
	conf = conf_defaults();
	g_free(conf->spool_dir);
	conf->spool_dir = g_strdup(fz_tmp);
	g_free(conf->backend);
	conf->backend = g_strdup("memory");
	g_free(conf->deployment_key_file);
	conf->deployment_key_file = g_build_filename(fz_tmp, "dk.key", NULL);
	g_free(conf->audit_path);
	conf->audit_path = g_strdup("");
}

/* fz_pipe_start - the pipeline over conf (abort on failure) */
static void
fz_pipe_start(void)
{
	GError *err = NULL;

	if (pipeline_init(&pipe_, conf, &err) != 0) {
		fprintf(stderr, "fuzz: %s\n", err->message);
		abort();
	}
}

#endif

/*
 * fuzz_process.c - the whole end-of-message pipeline (parse, decide,
 * offload into the memory store, rewrite, header operations) on hostile
 * messages, exactly as `offloadctl process` runs it, with a low threshold
 * so that parts really get offloaded.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <gmime/gmime.h>

#include "fuzz_pipe.h"
#include "hdrops.h"
#include "log.h"
#include "msg.h"
#include "pipeline.h"

static int
drop(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	(void)size;
	(void)mtime;
	storage_delete(arg, key);
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_pipe_conf();
	conf->offload_min_size = 64;
	fz_pipe_start();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pipeline_result res;
	struct msg *m = msg_new(conf->spool_dir, 0, NULL);
	FILE *in = size ? fmemopen((void *)data, size, "r") : NULL;
	bool crlf;

	if (m == NULL || in == NULL)
		goto out;
	if (msg_read_stream(m, in, &crlf, NULL) != 0)
		goto out;
	m->env.local_submission = true;
	m->env.sender = g_strdup("a@example.gov");
	msg_add_rcpt(m, "b@example.net");
	pipeline_run(&pipe_, m, &res);
	if (res.verdict == PIPELINE_ACCEPT)
		hdrops_apply(res.hdr_ops, m);
	pipeline_result_clear(&res);
	storage_list(pipe_.st, "", drop, pipe_.st);
out:
	if (in)
		fclose(in);
	msg_free(m);
	return 0;
}

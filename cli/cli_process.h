/*
 * cli_process.h - `offloadctl process` (cli_process.c) and its intake
 * (cli_process_read.c).
 */
#ifndef OFFLOAD_CLI_PROCESS_H
#define OFFLOAD_CLI_PROCESS_H

#include <stdbool.h>
#include <stdio.h>
#include <glib.h>

#include "msg.h"
#include "pipeline.h"

struct process_args {
	const char *conf_path, *sender, *qid;
	GPtrArray *rcpts; /* char *: --rcpt, in order; filled from To/Cc/Bcc when empty */
};

/* process_read - stdin, read once: kept byte for byte in *raw (rewound;
 * *raw_path, when not NULL, names a file the caller removes) and parsed
 * into a new *m with the envelope from a (or the headers); the body goes
 * through early offload when [milter] early_offload is on. 0 or an exit
 * status (message printed); *raw and *m are the caller's either way. */
int process_read(struct pipeline *p, const struct process_args *a, FILE **raw, char **raw_path,
	struct msg **m, bool *had_crlf);

/* process_read_signal - SIGINT, SIGTERM or SIGHUP that ended the read, or 0:
 * the caller frees what it holds (msg_free deletes what was stored early)
 * and ends by that signal */
int process_read_signal(void);

#endif

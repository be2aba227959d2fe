/*
 * log.c - syslog + stderr logging with a fixed severity ladder.
 * Globals are written once by log_init() before threads start; stderr
 * writes are single fprintf calls (stdio locks the stream).
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

static const char *log_ident = "offload";
static bool log_stderr = true;
static bool log_syslog;
static bool log_quiet;

void
log_init(const char *ident, bool to_stderr, bool to_syslog)
{
	log_ident = ident;
	log_stderr = to_stderr;
	log_syslog = to_syslog;
	if (to_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_set_quiet(bool quiet)
{
	log_quiet = quiet;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "info", "warning", "error", "fatal", "panic" };
	static const int prio[] = { LOG_INFO, LOG_WARNING, LOG_ERR, LOG_CRIT, LOG_ALERT };
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (log_syslog)
		syslog(prio[level], "%s: %s", names[level], buf);
	if (log_stderr && !(log_quiet && level == LOG_LVL_INFO))
		fprintf(stderr, "%s: %s: %s\n", log_ident, names[level], buf);
}

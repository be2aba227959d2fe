/*
 * log.h - the fixed ladder of log severities (docs/CONVENTIONS.md): info, warning,
 * error, fatal (start-up/config only), panic (broken invariant).
 * Messages go to syslog (facility mail) and, when enabled, to stderr.
 * Thread-safe after log_init(); format strings are compiler-checked.
 */
#ifndef OFFLOAD_LOG_H
#define OFFLOAD_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LVL_INFO,
	LOG_LVL_WARNING,
	LOG_LVL_ERROR,
	LOG_LVL_FATAL,
	LOG_LVL_PANIC,
};

void log_init(const char *ident, bool to_stderr, bool to_syslog);
/* log_set_quiet - drop info lines on stderr (CLI default) */
void log_set_quiet(bool quiet);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_info(...)    log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LVL_WARNING, __VA_ARGS__)
#define log_error(...)   log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_fatal(...)   log_msg(LOG_LVL_FATAL, __VA_ARGS__)
#define log_panic(...)   log_msg(LOG_LVL_PANIC, __VA_ARGS__)

#endif

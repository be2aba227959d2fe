/*
 * fuzz_conf.c - the config parser (common/conf.c) on hostile text: the
 * input as a config file (conf_load_data: groups, keys, sizes, durations,
 * lists, choices, bools), and when it loads, the classify settings built
 * from it (classify_new: levels, label and marker maps, thresholds,
 * per-level actions and retentions); the input also as one size and one
 * duration value. Any input must end in a config or an error, never a
 * crash, an over-read or a leak.
 */
#include <glib.h>

#include "classify.h"
#include "conf.h"
#include "fuzz.h"
#include "log.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz", false, false);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *c;
	GError *err = NULL;
	uint64_t v;
	char *s;

	c = conf_load_data((const char *)data, size, "fuzz.conf", &err);
	if (c != NULL) {
		struct classify_ctx *ctx = classify_new(c, &err);

		g_assert(ctx != NULL || err != NULL);
		classify_free(ctx);
		conf_free(c);
	} else {
		g_assert(err != NULL);
	}
	g_clear_error(&err);
	if (size > 4096)
		return 0;
	s = g_strndup((const char *)data, size);
	conf_parse_size(s, &v);
	conf_parse_duration(s, &v);
	g_free(s);
	return 0;
}

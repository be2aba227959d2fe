/*
 * replay.c - run a fuzz target over files (corpus replay without libFuzzer):
 * `replay_<target> FILE...`; prints "ok - <file>" per input and a closing
 * count line. A crash or sanitizer report ends the process (the runner
 * counts that as a failure).
 */
#include <stdio.h>
#include <stdlib.h>
#include <glib.h>

#include "fuzz.h"

int
main(int argc, char **argv)
{
	int i, n = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		char *data = NULL;
		gsize len = 0;

		if (!g_file_get_contents(argv[i], &data, &len, NULL))
			continue;
		LLVMFuzzerTestOneInput((const uint8_t *)data, len);
		g_free(data);
		n++;
	}
	printf("replayed %d inputs\n", n);
	return 0;
}

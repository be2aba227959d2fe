/*
 * fuzz_envelope.c - the transfer format readers on hostile bytes: the
 * manifest header and opener, and the file object reader. Any input must
 * end in an error code or success, never a crash or an over-read.
 */
#include <string.h>
#include <glib.h>

#include "envelope.h"
#include "fuzz.h"
#include "log.h"

static const unsigned char dk[32] = { 1, 2, 3 };
static const unsigned char fk[32] = { 4, 5, 6 };

static int
sink(void *arg, const void *buf, size_t len)
{
	(void)arg;
	(void)buf;
	(void)len;
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz", false, false); /* failures are expected here: keep them quiet */
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope_header h;
	struct envelope_reader *r;
	unsigned char tk[32] = { 7 };
	char *json = NULL;
	size_t json_len = 0;

	envelope_manifest_header(data, size, dk, &h);
	envelope_manifest_check_secret(data, size, "AAAAAAAAAAAAAAAAAAAAAA");
	if (envelope_manifest_open(data, size, dk, tk, &h, &json, &json_len) == ENVELOPE_OK)
		g_free(json);
	r = envelope_reader_new(fk, "aaaaaaaaaaaaaaaaaaaaaaaa", 0, sink, NULL);
	if (r) {
		size_t half = size / 2;

		envelope_reader_update(r, data, half);
		envelope_reader_update(r, data + half, size - half);
		envelope_reader_finish(r);
		envelope_reader_free(r);
	}
	return 0;
}

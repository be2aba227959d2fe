/*
 * fuzz_s3xml.c - the S3 backend's reader of XML answers
 * (storage_s3_http.c s3_xml_parse): error documents, InitiateMultipartUpload,
 * ListObjectsV2 and ListMultipartUploads pages, as a hostile or broken
 * server might send them; the entries are then walked as s3_list walks
 * them. Any input must end in a parsed answer or a refusal, never a crash,
 * an over-read or a leak.
 */
#include <string.h>
#include <glib.h>

#include "fuzz.h"
#include "log.h"
#include "storage.h"
#include "storage_s3.h"

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
	GString *text = g_string_new_len((const char *)data, (gssize)size);
	struct s3_xml x;
	GString *q = g_string_new("");
	guint i;

	if (s3_xml_parse(text, &x)) {
		g_assert(x.root != NULL);
		for (i = 0; i < x.entries->len; i++) {
			const struct s3_list_entry *e = &g_array_index(x.entries, struct s3_list_entry, i);

			g_assert(e->key != NULL);
			if (strncmp(e->key, "pre/", 4) == 0)
				storage_key_valid(e->key + 4);
			if (e->upload_id != NULL)
				g_free(s3_upload_query("/b/k", e->upload_id, 1));
		}
		if (x.token != NULL)
			s3_qenc(q, x.token);
	}
	s3_xml_clear(&x);
	g_string_free(q, TRUE);
	g_string_free(text, TRUE);
	return 0;
}

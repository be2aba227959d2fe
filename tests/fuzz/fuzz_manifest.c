/*
 * fuzz_manifest.c - the manifest's content reader (transfer_open.c) behind
 * the AEAD: the input is the manifest JSON, sealed here as a manifest of
 * a test transfer (envelope_manifest_seal under a test deployment key and
 * link secret) and opened as `offloadctl open`, `fetch` and the portal
 * open it (transfer_open_obj: header, MAC, TK, JSON: id, sender,
 * recipients, files with index, name, type, size, key and sha256).
 * fuzz_envelope covers the bytes in front of the AEAD. GLib criticals are
 * fatal here (a member of the wrong JSON type once made json-glib complain).
 * Any input must end in a transfer or an error, never a crash, an
 * over-read or a leak.
 */
#include <string.h>
#include <glib.h>

#include "conf.h"
#include "envelope.h"
#include "fuzz.h"
#include "keys.h"
#include "log.h"
#include "storage.h"
#include "transfer.h"

#define FZ_ID "abcdefghijklmnopqrstuvwx"
#define FZ_SECRET "AAAAAAAAAAAAAAAAAAAAAA"

static struct storage *fz_st;
static struct key32 fz_dk = { { 5, 6, 7 }, "" };
static struct envelope_header fz_h;
static unsigned char fz_tk[32];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct conf *c;

	(void)argc;
	(void)argv;
	log_init("fuzz", false, false);
	g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL);
	c = conf_load(NULL, NULL);
	conf_set(c, "storage.backend", "memory", NULL);
	fz_st = storage_open(c, NULL);
	conf_free(c);
	fz_h.version = 1;
	memcpy(fz_h.id, FZ_ID, sizeof FZ_ID);
	fz_h.created = 1700000000;
	fz_h.expires = 1800000000;
	memcpy(fz_h.key_id, "0123456789abcdef", 17);
	envelope_revoke_hash(FZ_ID, FZ_SECRET, fz_h.revoke_hash);
	envelope_derive_tk(FZ_ID, FZ_SECRET, NULL, 0, fz_tk);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *obj = NULL;
	size_t len = 0;
	struct transfer *t;
	GError *err = NULL;
	guint i;

	if (fz_st == NULL || size > 1 << 20 ||
	    envelope_manifest_seal(&fz_h, fz_dk.key, FZ_SECRET, fz_tk, (const char *)data, size, &obj, &len) != 0)
		return 0;
	t = transfer_open_obj(fz_st, &fz_dk, FZ_ID, obj, len, fz_tk, &err);
	if (t != NULL) {
		for (i = 0; i < t->files->len; i++) {
			const struct transfer_file *f = g_ptr_array_index(t->files, i);

			g_assert(f->index == i && strlen(f->sha256) == 64);
		}
		transfer_free(t);
	} else {
		g_assert(err != NULL);
	}
	g_clear_error(&err);
	g_free(obj);
	return 0;
}

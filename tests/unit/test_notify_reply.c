/*
 * test_notify_reply.c - the clerk's mail about a reply (pipeline/notify_reply.c)
 * says why a file was refused: "malware found" only when the scanner found
 * malware, "could not be checked for malware" when it could not check the
 * file, "could not be taken" when its stored copy was damaged at the commit;
 * and transfer_tus_refused_malware / _why read the refused detail of the
 * upload state (FORMATS.md §6.6), also as written before the verdict prefix.
 */
#include <string.h>
#include <glib.h>

#include "conf.h"
#include "notify_reply.h"
#include "storage.h"
#include "transfer.h"
#include "transfer_tus.h"
#include "unit.h"

static void
test_reason(void)
{
	CHECK(transfer_tus_refused_malware("infected:Offload-Test-EICAR"), "infected:<sig> is malware");
	CHECK(transfer_tus_refused_malware("infected"), "infected (no signature) is malware");
	CHECK(!transfer_tus_refused_malware("unscannable:Heuristics.Limits.Exceeded.MaxFiles"),
		"unscannable:<why> is not malware");
	CHECK(!transfer_tus_refused_malware("unscannable"), "unscannable is not malware");
	CHECK(!transfer_tus_refused_malware(NULL) && !transfer_tus_refused_malware(""), "no detail: not malware");
	CHECK(transfer_tus_refused_malware("Win.Test.EICAR_HDB-1"), "older state: a bare signature is malware");
	CHECK(!transfer_tus_refused_malware("Heuristics.Limits.Exceeded.MaxFileSize") &&
	      !transfer_tus_refused_malware("INSTREAM size limit exceeded"),
		"older state: clamd's limit heuristic or error text is not malware");
	CHECK(!transfer_tus_refused_malware("damaged"), "damaged at the commit is not malware");
	CHECK(strcmp(transfer_tus_refused_why("damaged"), "damaged") == 0 &&
	      strcmp(transfer_tus_refused_why("infected:X"), "infected") == 0 &&
	      strcmp(transfer_tus_refused_why("Win.Test.EICAR_HDB-1"), "infected") == 0 &&
	      strcmp(transfer_tus_refused_why("unscannable:Heuristics.Limits.Exceeded.MaxFiles"), "unscannable") == 0 &&
	      strcmp(transfer_tus_refused_why(NULL), "") == 0,
		"the verdict of a refused detail: infected, unscannable, damaged, none");
}

static void
test_text(void)
{
	struct conf c = { 0 };
	struct storage *st;
	struct transfer *t;
	GPtrArray *refused = g_ptr_array_new(), *unchecked = g_ptr_array_new(), *damaged = g_ptr_array_new();
	struct notify_reply_info ri = { .src_id = "offloadtestvectorid23456", .message = "",
		.refused = refused, .unchecked = unchecked, .damaged = damaged };
	char *s, *en;

	c.backend = "memory";
	st = storage_open(&c, NULL);
	t = transfer_new(st, 1700000000, 86400);
	g_ptr_array_add(refused, "virus.exe");
	g_ptr_array_add(unchecked, "archiv.zip");
	g_ptr_array_add(damaged, "plan.pdf");
	s = notify_reply_text(t, "https://files.example.test/t/x#y", &ri);
	en = strstr(s, "-- English --");
	CHECK(en != NULL, "German, then English");
	CHECK(en && strstr(s, "  - virus.exe: abgewiesen (Schadsoftware gefunden)\n") < en &&
	      strstr(en, "  - virus.exe: refused (malware found)\n") != NULL, "malware found: says so (de, en)");
	CHECK(en && strstr(s, "  - archiv.zip: abgewiesen (konnte nicht auf Schadsoftware gepr\xc3\xbc" "ft werden)\n") < en &&
	      strstr(en, "  - archiv.zip: refused (could not be checked for malware)\n") != NULL,
		"not checkable: refused because it could not be checked (de, en)");
	CHECK(en && strstr(s, "  - plan.pdf: nicht \xc3\xbc" "bernommen (die gespeicherte Datei ist besch\xc3\xa4" "digt)\n") < en &&
	      strstr(en, "  - plan.pdf: could not be taken (the stored file is damaged)\n") != NULL &&
	      strstr(s, "plan.pdf: abgewiesen") == NULL && strstr(en, "plan.pdf: refused") == NULL,
		"damaged at the commit: could not be taken, not refused by the scan (de, en)");
	CHECK(strstr(s, "archiv.zip: abgewiesen (Schadsoftware") == NULL &&
	      strstr(s, "archiv.zip: refused (malware") == NULL, "the unchecked file is not called malware");
	g_free(s);
	g_ptr_array_set_size(refused, 0);
	g_ptr_array_set_size(unchecked, 0);
	g_ptr_array_set_size(damaged, 0);
	s = notify_reply_text(t, "https://files.example.test/t/x#y", &ri);
	CHECK(strstr(s, "abgewiesen") == NULL && strstr(s, "refused") == NULL &&
	      strstr(s, "nicht \xc3\xbc" "bernommen") == NULL && strstr(s, "could not be taken") == NULL,
		"nothing refused: no such line");
	g_free(s);
	g_ptr_array_free(refused, TRUE);
	g_ptr_array_free(unchecked, TRUE);
	g_ptr_array_free(damaged, TRUE);
	transfer_free(t);
	storage_free(st);
}

int
main(void)
{
	test_reason();
	test_text();
	return unit_done();
}

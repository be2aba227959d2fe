/*
 * test_classify.c - classify/: check digits of every detector (valid,
 * invalid, look-alike tables), numbers split by blanks/dots/dashes/runs,
 * never joined across table cells/rows (docx, xlsx, ODF, HTML built here),
 * label parsing variants, policy and combining, the streaming job, bombs
 * generated here (ratio, total bytes, depth, entries, overlap, XML
 * entities, broken input) bounded in time, TNEF streams built here (names,
 * docx inside, embedded messages, depth, truncation, bit flips) and the
 * corpus streams, compressed RTF, and the labelled set in tests/data/classify
 * (EXPECTED.tsv, incl. winmail.dat and /Differences PDFs) with precision/recall
 * per detector.
 */
#include "classify_int.h"

#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "cls_check.h"
#include "unit.h"

static struct conf *conf_g;
static struct classify_ctx *ctx_g;

static void
test_check_digits(void)
{
	static const struct { const char *s; bool ok; } iban[] = {
		{ "DE89370400440532013000", true }, { "AT611904300234573201", true }, { "GB82WEST12345698765432", true },
		{ "GB25123412345698765432", false }, { "NL750417ABNA64", false }, { "BY27082024THEHAVENACHPAYMENT", false },
		{ "DE0537040044053201300A", false },
		{ "NL91ABNA0417164300", true }, { "FR1420041010050500013M02606", true }, { "CH9300762011623852957", true },
		{ "NO9386011117947", true }, { "MT84MALT011000012345MTLCAST001S", true },
		{ "DE89370400440532013001", false }, { "DE8937040044053201300", false }, { "XX89370400440532013000", false },
		{ "DE8937040044053201300A", false }, { "AT61190430023457320", false },
	};
	static const struct { const char *s; bool ok; } tin[] = {
		{ "86095742719", true }, { "36574261809", true }, { "65929970489", true },
		{ "86095742718", false }, { "12345678903", false }, { "11123456786", false }, { "02476291358", false },
		{ "1234567890", false },
	};
	static const struct { const char *s; bool ok; } rv[] = {
		{ "15070649C103", true }, { "10010490A443", true }, { "15070649C104", false }, { "15134549C103", false },
		{ "150706490103", false },
	};
	static const struct { const char *s; bool ok; } kv[] = {
		{ "A000500015", true }, { "A123456780", true }, { "A123456789", false }, { "1123456780", false },
	};
	static const struct { const char *s; bool ok; } id[] = {
		{ "L01X00T471", true }, { "T220001293", true }, { "T220001294", false }, { "A220001293", false },
		{ "L01X00T47", false },
	};
	static const struct { const char *s; bool ok; } card[] = {
		{ "4111111111111111", true }, { "5555555555554444", true }, { "378282246310005", true },
		{ "6011111111111117", true }, { "2221000000000009", true }, { "4111111111111112", false },
		{ "1234567812345670", false }, { "41111111111111", false }, { "378282246310006", false },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(iban); i++)
		CHECK(cls_iban_valid(iban[i].s) == iban[i].ok, "IBAN %s %s", iban[i].s, iban[i].ok ? "valid" : "invalid");
	for (i = 0; i < G_N_ELEMENTS(tin); i++)
		CHECK(cls_steuer_id_valid(tin[i].s) == tin[i].ok, "Steuer-IdNr %s %s", tin[i].s,
			tin[i].ok ? "valid" : "invalid");
	for (i = 0; i < G_N_ELEMENTS(rv); i++)
		CHECK(cls_rvnr_valid(rv[i].s) == rv[i].ok, "RVNR %s %s", rv[i].s, rv[i].ok ? "valid" : "invalid");
	for (i = 0; i < G_N_ELEMENTS(kv); i++)
		CHECK(cls_kvnr_valid(kv[i].s) == kv[i].ok, "KVNR %s %s", kv[i].s, kv[i].ok ? "valid" : "invalid");
	for (i = 0; i < G_N_ELEMENTS(id); i++)
		CHECK(cls_id_doc_valid(id[i].s) == id[i].ok, "ID document %s %s", id[i].s, id[i].ok ? "valid" : "invalid");
	for (i = 0; i < G_N_ELEMENTS(card); i++)
		CHECK(cls_card_valid(card[i].s) == card[i].ok, "card %s %s", card[i].s, card[i].ok ? "valid" : "invalid");
	CHECK(cls_icao_check("L01X00T47", 9) == 1 && cls_icao_check("T22000129", 9) == 3 &&
		cls_icao_check("640812", 6) == 5, "ICAO 7-3-1 worked examples");
	{
		char *m = cls_mask("DE89 3704 0044 0532 0130 00", 27);

		CHECK(strcmp(m, "DE89 **** **** **** **30 00") == 0, "IBAN masked as DE89 **** **** **** **30 00 (%s)", m);
		g_free(m);
	}
}

/* text -> reasons that must appear ("" = no detector reason at all) */
static void
test_detect_text(void)
{
	static const struct { const char *text, *want, *not; } cases[] = {
		{ "IBAN DE89 3704 0044 0532 0130 00", "iban", NULL },
		{ "IBAN DE89.3704.0044.0532.0130.00", "iban", NULL },
		{ "IBAN DE89-3704-0044-0532-0130-00.", "iban", NULL },
		{ "Konto: de89370400440532013000", "iban", NULL },
		{ "IBAN\tDE89 3704\t0044 0532\t0130 00", "iban", NULL },
		{ "IBAN DE89\xC2\xA0" "3704\xC2\xA0" "0044\xC2\xA0" "0532\xC2\xA0" "0130\xC2\xA0" "00", "iban", NULL },
		{ "IBAN DE89 3704 0044 0532 0130 01", NULL, "iban" },
		{ "Ref X DE89370400440532013000123", NULL, "iban" },
		{ "Steuer-ID: 860 957 42719", "steuer-id", NULL },
		{ "Ihre Identifikationsnummer 86 095 742 719", "steuer-id", NULL },
		{ "86095742719", "steuer-id", NULL },
		{ "Bestellung 860 957 42719 vom Montag", NULL, "steuer-id" },
		{ "Tel. 86095742719", NULL, "steuer-id" },
		{ "+49 86095742719", NULL, "steuer-id" },
		{ "Steuer-ID 12345678903", NULL, "steuer-id" },
		{ "Steuer-ID 860957427190", NULL, "steuer-id" },
		/* phone numbers whose digits pass the Steuer-IdNr check (issue 4) */
		{ "Name;Steuer-ID;Telefon\nMuster;;+49 758 355601;", NULL, "steuer-id" },
		{ "Steuer-ID oder Telefon +49 30 0546842", NULL, "steuer-id" },
		{ "Steuer-ID oder Telefon 0049 30 393894650", NULL, "steuer-id" },
		{ "Steuer-ID oder Mobil +49 151 712280", NULL, "steuer-id" },
		{ "Steuer-ID, Telefon +49 (0)30 987426556", NULL, "steuer-id" },
		{ "Steuer-ID, Telefon (030) 365 470 85 510", NULL, "steuer-id" },
		{ "Steuer-ID, Telefon 030 185 323 26 245", NULL, "steuer-id" },
		{ "Steuer-ID, Mobil 0151/35499240695", NULL, "steuer-id" },
		/* order numbers, dates + amounts, cells */
		{ "Steuerbescheid zu Rechnung RE-2024-2586984", NULL, "steuer-id" },
		{ "Steuerakte BE-2023-27690\t11", NULL, "steuer-id" },
		{ "Steuerakte BE-2023-27690\n11", NULL, "steuer-id" },
		{ "Steuer-ID\t860 957\t42719", NULL, "steuer-id" },
		{ "Steuerbescheid vom 18.11.2026 13590,73 EUR", NULL, "steuer-id" },
		{ "Meeting am 18.11.2026 13590,73 EUR", NULL, "steuer-id" },
		{ "Martin zahlt 860 957 42719", NULL, "steuer-id" },
		{ "Steuerbüro, Hauptstraße 123 86095 Musterstadt", NULL, "steuer-id" },
		{ "Steuer-ID\t86095742719", "steuer-id", NULL },
		{ "Steuer-ID: 86 095 742 719", "steuer-id", NULL },
		{ "TIN 860.957.427.19", "steuer-id", NULL },
		/* prose read as an IBAN (BY, IT, DO have letters in the BBAN) */
		{ "Committee Sitzung by 27.08.2024 the have nach. Payment Verfahren", NULL, "iban" },
		{ "Zahlung by 10.05.2022 nicht with invoice in", NULL, "iban" },
		{ "Protokoll it 04.02.2023 Bescheid das review", NULL, "iban" },
		{ "Termin Do 27.09.2023 nach is bei project by", NULL, "iban" },
		{ "do 12.01.2024 review of the with auf", NULL, "iban" },
		{ "IBAN DE89 3704. 0044 0532 0130 00", NULL, "iban" },
		{ "IBAN GB25 1234 1234 5698 7654 32", NULL, "iban" },
		{ "iban de89 3704 0044 0532 0130 00", "iban", NULL },
		{ "IBAN GB82 WEST 1234 5698 7654 32", "iban", NULL },
		{ "iban gb82 west 1234 5698 7654 32", "iban", NULL },
		{ "IBAN gb82 WEST 1234 5698 7654 32", NULL, "iban" },
		/* phone counts: dates and words containing "tel" are none */
		{ "Telefon +49 30 1234567", "phone", NULL },
		{ "Telefon (030) 123 45 67", "phone", NULL },
		{ "(030) 123 45 67 Telefon", "phone", NULL },
		{ "Mobil 0151/12345678", "phone", NULL },
		{ "Telefon: (2008-04-23) (1243598244)", NULL, "phone" },
		{ "Kostenstelle 03.05.2025 Hotel", NULL, "phone" },
		{ "Tel. 03.05.2025", NULL, "phone" },
		{ "RVNR 15070649C103", "rvnr", NULL },
		{ "Sozialversicherungsnummer 15 070649 C 103", "rvnr", NULL },
		{ "RVNR 15070649C104", NULL, "rvnr" },
		{ "Krankenkasse AOK, Versichertennummer A123456780", "kvnr", NULL },
		{ "Rechnung A123456780", NULL, "kvnr" },
		{ "Versichertennummer A123456789", NULL, "kvnr" },
		{ "Personalausweis L01X00T471", "id-document", NULL },
		{ "Personalausweis L01X00T47", "id-document", NULL },
		{ "Artikel L01X00T471", NULL, "id-document" },
		{ "Reisepass T220001294", NULL, "id-document" },
		{ "Karte 4111 1111 1111 1111", "card", NULL },
		{ "Amex 3782 822463 10005", "card", NULL },
		{ "Karte 4111-1111-1111-1111", "card", NULL },
		{ "Karte 4111 1111 1111 1112", NULL, "card" },
		{ "Auftrag 41 111 111 111 111 11", NULL, "card" },
		{ "Seriennr 94111111111111111", NULL, "card" },
		{ "geb. 29.02.1980 in Bonn", "dob", NULL },
		{ "geb. 29.02.1981 in Bonn", NULL, "dob" },
		{ "Termin 12.03.1980", NULL, "dob" },
		{ "Telefon 089 1234567", "phone", NULL },
		{ "Zimmer 089 1234567", NULL, "phone" },
		{ "Mail an max.muster@example.org bitte", "email", NULL },
		{ "Diagnose und Befund liegen vor", "art9-health", NULL },
		{ "Diagnose: keine", NULL, "art9-health" },
		{ "Die Religion im Mittelalter", NULL, "art9-religion" },
		{ "Konfession: evangelisch", "art9-religion", NULL },
		{ "Mitglied der Gewerkschaft, Mitgliedsbeitrag monatlich", "art9-union", NULL },
		{ "Fingerabdruck und biometrische Daten", "art9-biometrics", NULL },
		{ "Gentest mit DNA-Analyse", "art9-genetics", NULL },
		{ "sexual orientation and sex life", "art9-sexual", NULL },
		{ "Parteimitglied seit 2001, Parteizugehörigkeit", "art9-politics", NULL },
		{ "ethnische Herkunft", "art9-ethnicity", NULL },
		{ "Diagnose liegt vor, Versichertennummer A123456780 bei der AOK", "art9-health", NULL },
		{ "VS-NfD\nBericht", "vs:VS-NfD", NULL },
		{ "Titel\n  VS-NUR FÜR DEN DIENSTGEBRAUCH\nText", "vs:VS-NfD", NULL },
		{ "Bitte keine VS-NfD Dokumente per Mail senden", NULL, "vs:VS-NfD" },
		{ "Das ist GEHEIM", NULL, "vs:GEHEIM" },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct classify_result r;
		char *shown = g_strescape(cases[i].text, "\xC2\xA0\xC3\x9C");

		classify_result_init(&r);
		classify_text(ctx_g, "t", cases[i].text, strlen(cases[i].text), &r);
		if (cases[i].want != NULL)
			CHECK(has_reason(&r, cases[i].want), "'%s' finds %s (got '%s')", shown, cases[i].want, r.reasons);
		if (cases[i].not != NULL)
			CHECK(!has_reason(&r, cases[i].not), "'%s' is no %s (got '%s')", shown, cases[i].not, r.reasons);
		classify_result_clear(&r);
		g_free(shown);
	}
}

static void
label_case(const char *name, const char *value, const char *want_level, const char *want_reason)
{
	struct classify_result r;
	char *shown;

	classify_result_init(&r);
	classify_header(ctx_g, name, value, &r);
	classify_finish(ctx_g, &r, true);
	shown = g_strescape(value, NULL);
	CHECK(strcmp(r.level, want_level) == 0 && (want_reason == NULL || has_reason(&r, want_reason)),
		"%s: '%.50s...' -> %s %s (got %s '%s')", name, shown, want_level, want_reason ? want_reason : "",
		r.level, r.reasons);
	g_free(shown);
	classify_result_clear(&r);
}

static void
test_labels(void)
{
	const char *g = "MSIP_Label_f42aa342-8706-4288-bd11-ebb85995028c_";
	char *v;

	label_case("Sensitivity", "Company-Confidential", "VERTRAULICH", "label:sensitivity=Company-Confidential");
	label_case("sensitivity", " private", "VERTRAULICH", NULL);
	label_case("Sensitivity", "Personal", "INTERN", NULL);
	label_case("Sensitivity", "Normal", "OFFEN", "label:sensitivity=Normal");
	v = g_strdup_printf("%sActionId=129c;\r\n %sContentBits=0;\r\n %sEnabled=true;\r\n %sMethod=Standard;\r\n "
		"%sName=Vertraulich;\r\n %sSiteId=72f9;", g, g, g, g, g, g);
	label_case("msip_labels", v, "VERTRAULICH", "label:msip=Vertraulich");
	g_free(v);
	v = g_strdup_printf("%sName=Highly\r\n Confidential;%sEnabled=True", g, g);   /* no spaces, fold in value, no ';' */
	label_case("msip_labels", v, "STRENG-VERTRAULICH", "label:msip=Highly_Confidential");
	g_free(v);
	v = g_strdup_printf("\r\n %sEnabled=TRUE; %sName=internal; aiplabel=External Public", g, g);
	label_case("MSIP_LABELS", v, "INTERN", NULL);
	g_free(v);
	v = g_strdup_printf("%sEnabled=false; %sName=Vertraulich;", g, g);
	label_case("msip_labels", v, "OFFEN", NULL);
	g_free(v);
	v = g_strdup_printf("%sEnabled=true; %sName=Unbekannt;", g, g);
	label_case("msip_labels", v, "OFFEN", "label:msip=Unbekannt");
	g_free(v);
	label_case("Subject", "[VERTRAULICH] Personalakte", "VERTRAULICH", "label:subject=[VERTRAULICH]");
	label_case("Subject", "TLP:RED Vorfall", "STRENG-VERTRAULICH", "label:tlp=RED");
	label_case("Subject", "tlp: amber Lage", "VERTRAULICH", "label:tlp=AMBER");
	label_case("Subject", "TLP:AMBER+STRICT Lage", "VERTRAULICH", "label:tlp=AMBER+STRICT");
	label_case("Subject", "TLP:CLEAR Info", "OFFEN", "label:tlp=CLEAR");
	label_case("Subject", "Geheimtipp Restaurant", "OFFEN", NULL);
	label_case("SIO-Label", "marking=\"VS-NUR FUER DEN DIENSTGEBRAUCH\"; fgcolor=black", "OFFEN", "vs:VS-NfD");
	{
		struct classify_result r;

		classify_result_init(&r);
		classify_header(ctx_g, "Subject", "VS-NfD Lagebericht", &r);
		classify_finish(ctx_g, &r, true);
		CHECK(r.vs && r.action == CLASSIFY_REJECT && r.body_action == CLASSIFY_BODY_REJECT,
			"VS-NfD subject: VS rule, reject");
		CHECK(strstr(classify_reject_text(), "Verschlusssache") != NULL &&
			strstr(classify_reject_text(), "must not be sent") != NULL, "reject text German and English");
		classify_result_clear(&r);
		classify_result_init(&r);
		classify_header(ctx_g, "Subject", "STRENG GEHEIM", &r);
		classify_finish(ctx_g, &r, true);
		CHECK(r.vs && has_reason(&r, "vs:STRENG-GEHEIM"), "STRENG GEHEIM subject is VS");
		classify_result_clear(&r);
	}
}

static void
test_policy(void)
{
	struct classify_result a, b;
	const char *t = "IBAN DE89 3704 0044 0532 0130 00 und DE89 3704 0044 0532 0130 00 und AT611904300234573201";

	classify_message(true, &a);
	CHECK(strcmp(a.level, "OFFEN") == 0 && !a.offload && a.reasons[0] == '\0', "size-only seam: OFFEN outgoing");
	classify_result_clear(&a);
	classify_message(false, &a);
	CHECK(strcmp(a.level, "INTERN") == 0, "size-only seam: INTERN internal");
	classify_result_clear(&a);

	classify_result_init(&a);
	classify_text(ctx_g, "body", t, strlen(t), &a);
	classify_finish(ctx_g, &a, true);
	CHECK(strcmp(a.level, "VERTRAULICH") == 0 && a.offload && a.action == CLASSIFY_OFFLOAD && !a.password &&
		a.body_action == CLASSIFY_BODY_OFFLOAD_MESSAGE && a.notice_filenames, "identifiers: VERTRAULICH, offload");
	CHECK(strcmp(a.reasons, "iban:3") == 0, "reasons with counts: iban:3 (%s)", a.reasons);

	classify_result_init(&b);
	classify_header(ctx_g, "Sensitivity", "Company-Confidential", &b);
	classify_text(ctx_g, "att", "Diagnose und Befund", 19, &b);
	classify_combine(ctx_g, &a, &b);
	classify_finish(ctx_g, &a, true);
	CHECK(strcmp(a.level, "STRENG-VERTRAULICH") == 0 && a.action == CLASSIFY_OFFLOAD_PASSWORD && a.password &&
		!a.notice_filenames, "combined by maximum: STRENG-VERTRAULICH, offload+password, names hidden");
	CHECK(reason_count(&a, "iban") == 3 && has_reason(&a, "label:sensitivity=Company-Confidential") &&
		has_reason(&a, "art9-health"), "combined reasons kept (%s)", a.reasons);
	classify_result_clear(&b);
	/* a lower part never downgrades */
	classify_result_init(&b);
	classify_text(ctx_g, "x", "nichts", 6, &b);
	classify_combine(ctx_g, &a, &b);
	CHECK(strcmp(a.level, "STRENG-VERTRAULICH") == 0, "never downgraded by a lower part");
	classify_result_clear(&b);
	classify_result_clear(&a);

	classify_result_init(&a);
	classify_finish(ctx_g, &a, false);
	CHECK(strcmp(a.level, "INTERN") == 0 && a.action == CLASSIFY_PASS, "internal-only floor INTERN, pass");
	classify_result_clear(&a);
}

static void
test_config(void)
{
	static const struct { const char *key, *val; } bad[] = {
		{ "classify.levels", "A, B, VS" }, { "classify.identifier_level", "NOPE" },
		{ "classify.labels", "Vertraulich" }, { "classify.labels", "x=NOPE" },
		{ "classify.action", "VERTRAULICH=explode" }, { "classify.thresholds", "foo=1" },
		{ "classify.thresholds", "iban=x" }, { "classify.retention", "VERTRAULICH=1w" },
		{ "classify.levels", "A B" },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(bad); i++) {
		struct conf *c = conf_load(NULL, NULL);
		GError *err = NULL;
		struct classify_ctx *x = NULL;

		if (conf_set(c, bad[i].key, bad[i].val, NULL) == 0)
			x = classify_new(c, &err);
		CHECK(x == NULL, "bad [classify] %s = %s refused (%s)", bad[i].key, bad[i].val, err ? err->message : "");
		classify_free(x);
		g_clear_error(&err);
		conf_free(c);
	}
	{
		struct conf *c = conf_load(NULL, NULL);
		struct classify_ctx *x;
		struct classify_result r;

		conf_set(c, "classify.levels", "PUBLIC, INTERNAL, CONFIDENTIAL", NULL);
		conf_set(c, "classify.identifier_level", "CONFIDENTIAL", NULL);
		conf_set(c, "classify.art9_level", "CONFIDENTIAL", NULL);
		conf_set(c, "classify.labels", "Vertraulich=CONFIDENTIAL", NULL);
		conf_set(c, "classify.subject_markers", "[SECRET]=VS", NULL);
		conf_set(c, "classify.action", "CONFIDENTIAL=reject", NULL);
		conf_set(c, "classify.body_action", "", NULL);
		conf_set(c, "classify.notice_filenames", "", NULL);
		conf_set(c, "classify.thresholds", "iban=2", NULL);
		conf_set(c, "classify.findings", "bomb-limit=CONFIDENTIAL", NULL);
		conf_set(c, "classify.retention", "CONFIDENTIAL=2d", NULL);
		x = classify_new(c, NULL);
		CHECK(x != NULL && classify_level_count(x) == 3, "custom levels accepted");
		classify_result_init(&r);
		classify_text(x, "t", "IBAN DE89370400440532013000", 27, &r);
		classify_finish(x, &r, true);
		CHECK(strcmp(r.level, "PUBLIC") == 0, "threshold iban=2: one IBAN stays PUBLIC (%s)", r.level);
		classify_text(x, "t", "IBAN AT611904300234573201", 25, &r);
		classify_finish(x, &r, true);
		CHECK(strcmp(r.level, "CONFIDENTIAL") == 0 && r.action == CLASSIFY_REJECT && r.retention == 2 * 86400,
			"two IBANs: CONFIDENTIAL, configured action and retention");
		classify_result_clear(&r);
		classify_result_init(&r);
		classify_header(x, "Subject", "[SECRET] x", &r);
		classify_finish(x, &r, true);
		CHECK(r.vs && r.action == CLASSIFY_REJECT, "subject marker mapped to VS");
		classify_result_clear(&r);
		classify_free(x);
		conf_free(c);
	}
}

/* ---- a small zip writer for the bomb tests ---- */

struct zmember {
	const char *name;
	const unsigned char *data;
	size_t len;
	bool deflate;
};

static void
le16(GByteArray *b, unsigned v)
{
	guint8 x[2] = { (guint8)v, (guint8)(v >> 8) };

	g_byte_array_append(b, x, 2);
}

static void
le32(GByteArray *b, uint32_t v)
{
	guint8 x[4] = { (guint8)v, (guint8)(v >> 8), (guint8)(v >> 16), (guint8)(v >> 24) };

	g_byte_array_append(b, x, 4);
}

static unsigned char *
deflate_raw(const unsigned char *d, size_t n, size_t *out)
{
	z_stream z;
	size_t cap;
	unsigned char *o;

	memset(&z, 0, sizeof z);
	deflateInit2(&z, 9, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY);
	cap = deflateBound(&z, (uLong)n) + 64;
	o = g_malloc(cap);
	z.next_in = (Bytef *)(uintptr_t)d;
	z.avail_in = (uInt)n;
	z.next_out = o;
	z.avail_out = (uInt)cap;
	deflate(&z, Z_FINISH);
	*out = z.total_out;
	deflateEnd(&z);
	return o;
}

/* zip_build - members; overlap: every CD entry points at the first local header */
static GByteArray *
zip_build(const struct zmember *m, size_t n, bool overlap)
{
	GByteArray *b = g_byte_array_new(), *cd = g_byte_array_new();
	uint32_t *offs = g_new(uint32_t, n), cdoff;
	size_t i;

	for (i = 0; i < n; i++) {
		size_t clen = m[i].len;
		unsigned char *c = m[i].deflate ? deflate_raw(m[i].data, m[i].len, &clen) : NULL;
		uint32_t crc = (uint32_t)crc32(0, m[i].data, (uInt)m[i].len);

		offs[i] = b->len;
		le32(b, 0x04034b50); le16(b, 20); le16(b, 0); le16(b, m[i].deflate ? 8 : 0); le16(b, 0); le16(b, 0);
		le32(b, crc); le32(b, (uint32_t)clen); le32(b, (uint32_t)m[i].len);
		le16(b, (unsigned)strlen(m[i].name)); le16(b, 0);
		g_byte_array_append(b, (const guint8 *)m[i].name, (guint)strlen(m[i].name));
		g_byte_array_append(b, c != NULL ? c : m[i].data, (guint)clen);
		le32(cd, 0x02014b50); le16(cd, 20); le16(cd, 20); le16(cd, 0); le16(cd, m[i].deflate ? 8 : 0);
		le16(cd, 0); le16(cd, 0); le32(cd, crc); le32(cd, (uint32_t)clen); le32(cd, (uint32_t)m[i].len);
		le16(cd, (unsigned)strlen(m[i].name)); le16(cd, 0); le16(cd, 0); le16(cd, 0); le16(cd, 0);
		le32(cd, 0); le32(cd, overlap ? offs[0] : offs[i]);
		g_byte_array_append(cd, (const guint8 *)m[i].name, (guint)strlen(m[i].name));
		g_free(c);
	}
	cdoff = b->len;
	g_byte_array_append(b, cd->data, cd->len);
	le32(b, 0x06054b50); le16(b, 0); le16(b, 0); le16(b, (unsigned)n); le16(b, (unsigned)n);
	le32(b, cd->len); le32(b, cdoff); le16(b, 0);
	g_byte_array_unref(cd);
	g_free(offs);
	return b;
}

static void
classify_bytes(struct classify_ctx *x, const char *name, const GByteArray *b, struct classify_result *r)
{
	classify_result_init(r);
	classify_buffer(x, name, NULL, b->data, b->len, r);
	classify_finish(x, r, true);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* tables: a number split across runs inside one cell is found, digits of neighbouring cells or
 * rows never make one number (docx w:tc/w:tr, xlsx c/row, ODF table-cell/table-row, HTML) */
static void
test_cells(void)
{
#define DOCX_P(x) "<w:p><w:r><w:t>" x "</w:t></w:r></w:p>"
#define DOCX_TC(x) "<w:tc><w:tcPr><w:tcW w:w=\"1500\"/></w:tcPr>" DOCX_P(x) "</w:tc>"
#define DOCX(body) "<?xml version=\"1.0\"?><w:document xmlns:w=\"w\"><w:body>" body "</w:body></w:document>"
	static const struct { const char *name, *member, *xml, *want, *not; } cases[] = {
		{ "runs.docx", "word/document.xml", DOCX("<w:tbl><w:tr>" DOCX_TC("Steuer-ID")
			"<w:tc><w:p><w:r><w:t>860 957</w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>42719</w:t></w:r></w:p></w:tc>"
			"</w:tr></w:tbl>"), "steuer-id", NULL },
		{ "iban_runs.docx", "word/document.xml", DOCX("<w:tbl><w:tr>" DOCX_TC("IBAN")
			"<w:tc><w:p><w:r><w:t xml:space=\"preserve\">DE89 3704 </w:t></w:r><w:r><w:t>0044 05</w:t></w:r>"
			"<w:r><w:t>32 0130 00</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"), "iban", NULL },
		{ "cells.docx", "word/document.xml", DOCX(DOCX_P("Steuer-ID") "<w:tbl><w:tr>" DOCX_TC("Steuer-ID")
			DOCX_TC("860 957") DOCX_TC("42719") "</w:tr></w:tbl>"), NULL, "steuer-id" },
		{ "rows.docx", "word/document.xml", DOCX(DOCX_P("Steuerakte") "<w:tbl><w:tr>" DOCX_TC("Aktenzeichen")
			DOCX_TC("BE-2023-27690") "</w:tr><w:tr>" DOCX_TC("11") DOCX_TC("erledigt") "</w:tr></w:tbl>"),
			NULL, "steuer-id" },
		{ "rowend.docx", "word/document.xml", DOCX(DOCX_P("Steuer-ID") "<w:tbl><w:tr>" DOCX_TC("860 957")
			"</w:tr><w:tr>" DOCX_TC("42719") "</w:tr></w:tbl>"), NULL, "steuer-id" },
		{ "paras.docx", "word/document.xml", DOCX("<w:tbl><w:tr>" DOCX_TC("Steuer-ID")
			"<w:tc>" DOCX_P("860 957") DOCX_P("42719") "</w:tc></w:tr></w:tbl>"), NULL, "steuer-id" },
		{ "cells.xlsx", "xl/worksheets/sheet1.xml", "<worksheet><sheetData><row r=\"1\">"
			"<c r=\"A1\" t=\"inlineStr\"><is><t>Steuer-ID</t></is></c><c r=\"B1\"><v>86095</v></c>"
			"<c r=\"C1\"><v>742719</v></c></row></sheetData></worksheet>", NULL, "steuer-id" },
		{ "rows.xlsx", "xl/worksheets/sheet1.xml", "<worksheet><sheetData><row r=\"1\">"
			"<c r=\"A1\" t=\"inlineStr\"><is><t>Steuer-ID</t></is></c><c r=\"B1\"><v>860957</v></c></row>"
			"<row r=\"2\"><c r=\"A2\"><v>42719</v></c></row></sheetData></worksheet>", NULL, "steuer-id" },
		{ "empty.xlsx", "xl/worksheets/sheet1.xml", "<worksheet><sheetData><row r=\"1\">"
			"<c r=\"A1\" t=\"inlineStr\"><is><t>IBAN</t></is></c><c r=\"B1\" t=\"inlineStr\"><is><t>NL91 ABNA"
			"</t></is></c></row><row r=\"2\"><c r=\"A2\" s=\"1\"></c><c r=\"B2\" t=\"inlineStr\"><is><t>"
			"0417 1643 00</t></is></c></row></sheetData></worksheet>", NULL, "iban" },
		{ "cell.xlsx", "xl/worksheets/sheet1.xml", "<worksheet><sheetData><row r=\"1\">"
			"<c r=\"A1\" t=\"inlineStr\"><is><t>Steuer-ID</t></is></c><c r=\"B1\" t=\"inlineStr\"><is>"
			"<r><t>860 957</t></r><r><t>42719</t></r></is></c></row></sheetData></worksheet>", "steuer-id", NULL },
		{ "cells.odt", "content.xml", "<office:document-content xmlns:office=\"o\" xmlns:text=\"t\" "
			"xmlns:table=\"b\"><office:body><office:text><text:p>Steuer-ID</text:p><table:table><table:table-row>"
			"<table:table-cell><text:p>860 957</text:p></table:table-cell><table:table-cell><text:p>42719"
			"</text:p></table:table-cell></table:table-row><table:table-row><table:table-cell><text:p>860"
			"</text:p></table:table-cell></table:table-row><table:table-row><table:table-cell><text:p>957 42719"
			"</text:p></table:table-cell></table:table-row></table:table></office:text></office:body>"
			"</office:document-content>", NULL, "steuer-id" },
		{ "cell.odt", "content.xml", "<office:document-content xmlns:office=\"o\" xmlns:text=\"t\" "
			"xmlns:table=\"b\"><office:body><office:text><table:table><table:table-row><table:table-cell>"
			"<text:p>Steuer-ID</text:p></table:table-cell><table:table-cell><text:p>860 957<text:span>42719"
			"</text:span></text:p></table:table-cell></table:table-row></table:table></office:text></office:body>"
			"</office:document-content>", "steuer-id", NULL },
		{ "iban_cells.docx", "word/document.xml", DOCX("<w:tbl><w:tr>" DOCX_TC("IBAN") DOCX_TC("NL91 ABNA")
			DOCX_TC("0417 1643 00") "</w:tr></w:tbl>"), "iban", NULL },
		{ "iban_rows.docx", "word/document.xml", DOCX("<w:tbl><w:tr>" DOCX_TC("IBAN") DOCX_TC("NL91 ABNA")
			"</w:tr><w:tr>" DOCX_TC("0417 1643 00") "</w:tr></w:tbl>"), NULL, "iban" },
		{ "cells.html", NULL, "<html><body><p>Steuer-ID</p><table><tr><td>860 957</td><td>42719</td></tr>"
			"<tr><td>860957</td></tr><tr><td>42719</td></tr></table></body></html>", NULL, "steuer-id" },
	};
#undef DOCX
#undef DOCX_TC
#undef DOCX_P
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct classify_result r;
		GByteArray *b;

		if (cases[i].member == NULL) {
			b = g_byte_array_new();
			g_byte_array_append(b, (const guint8 *)cases[i].xml, (guint)strlen(cases[i].xml));
		} else if (g_str_has_suffix(cases[i].name, ".odt")) {
			struct zmember m[2] = {
				{ "mimetype", (const unsigned char *)"application/vnd.oasis.opendocument.text", 39, false },
				{ cases[i].member, (const unsigned char *)cases[i].xml, strlen(cases[i].xml), true },
			};

			b = zip_build(m, 2, false);
		} else {
			struct zmember m[2] = {
				{ "[Content_Types].xml", (const unsigned char *)"<Types/>", 8, true },
				{ cases[i].member, (const unsigned char *)cases[i].xml, strlen(cases[i].xml), true },
			};

			b = zip_build(m, 2, false);
		}
		classify_bytes(ctx_g, cases[i].name, b, &r);
		if (cases[i].want != NULL)
			CHECK(has_reason(&r, cases[i].want), "%s: %s found (got '%s')", cases[i].name, cases[i].want,
				r.reasons);
		if (cases[i].not != NULL)
			CHECK(!has_reason(&r, cases[i].not), "%s: no %s across cells/rows/paragraphs (got '%s')",
				cases[i].name, cases[i].not, r.reasons);
		classify_result_clear(&r);
		g_byte_array_unref(b);
	}
}

static void
test_bombs(void)
{
	struct conf *c = conf_load(NULL, NULL);
	struct classify_ctx *x;
	struct classify_result r;
	unsigned char *zeros = g_malloc0(20u << 20);
	GByteArray *b, *inner;
	struct rusage ru0, ru1;
	double t0 = now_s();
	size_t i;

	getrusage(RUSAGE_SELF, &ru0);
	conf_set(c, "classify.max_inflated", "4M", NULL);
	conf_set(c, "classify.max_entries", "50", NULL);
	x = classify_new(c, NULL);

	/* ratio: 20 MiB of zeros deflate to ~20 KiB */
	{
		struct zmember m = { "zeros.txt", zeros, 20u << 20, true };

		b = zip_build(&m, 1, false);
		classify_bytes(x, "ratio.zip", b, &r);
		CHECK(has_reason(&r, "bomb-limit") && strcmp(r.level, "VERTRAULICH") == 0 && r.offload,
			"ratio bomb (%u bytes): bomb-limit, VERTRAULICH by default", b->len);
		classify_result_clear(&r);
		g_byte_array_unref(b);
	}
	/* total inflated: many members of incompressible-ish text, each under the ratio */
	{
		struct zmember m[40];
		char names[40][16];
		unsigned char *noise = g_malloc(200000);

		for (i = 0; i < 200000; i++)
			noise[i] = (unsigned char)('a' + (i * 2654435761u >> 13) % 26);
		for (i = 0; i < G_N_ELEMENTS(m); i++) {
			g_snprintf(names[i], sizeof names[i], "m%zu.txt", i);
			m[i].name = names[i];
			m[i].data = noise;
			m[i].len = 200000;
			m[i].deflate = true;
		}
		b = zip_build(m, G_N_ELEMENTS(m), false);
		classify_bytes(x, "total.zip", b, &r);
		CHECK(has_reason(&r, "bomb-limit"), "8 MB inflated over max_inflated 4M: bomb-limit");
		classify_result_clear(&r);
		g_byte_array_unref(b);
		g_free(noise);
	}
	/* entries */
	{
		struct zmember m[60];
		char names[60][16];

		for (i = 0; i < G_N_ELEMENTS(m); i++) {
			g_snprintf(names[i], sizeof names[i], "e%zu.txt", i);
			m[i].name = names[i];
			m[i].data = (const unsigned char *)"x";
			m[i].len = 1;
			m[i].deflate = false;
		}
		b = zip_build(m, G_N_ELEMENTS(m), false);
		classify_bytes(x, "entries.zip", b, &r);
		CHECK(has_reason(&r, "bomb-limit"), "60 entries over max_entries 50: bomb-limit");
		classify_result_clear(&r);
		g_byte_array_unref(b);
	}
	/* overlap */
	{
		struct zmember m[3] = {
			{ "a.txt", (const unsigned char *)"aaaa", 4, false }, { "b.txt", (const unsigned char *)"bbbb", 4, false },
			{ "c.txt", (const unsigned char *)"cccc", 4, false },
		};

		b = zip_build(m, 3, true);
		classify_bytes(x, "overlap.zip", b, &r);
		CHECK(has_reason(&r, "bomb-limit"), "overlapping entries: bomb-limit");
		classify_result_clear(&r);
		g_byte_array_unref(b);
	}
	/* depth: zip in zip, 8 levels, IBAN at the bottom */
	{
		const char *t = "IBAN DE89 3704 0044 0532 0130 00";
		struct zmember m = { "iban.txt", (const unsigned char *)t, strlen(t), true };

		inner = zip_build(&m, 1, false);
		for (i = 0; i < 8; i++) {
			struct zmember z = { "inner.zip", inner->data, inner->len, false };

			b = zip_build(&z, 1, false);
			g_byte_array_unref(inner);
			inner = b;
		}
		classify_bytes(x, "deep.zip", inner, &r);
		CHECK(has_reason(&r, "bomb-limit") && !has_reason(&r, "iban"), "8 nested zips over max_depth 4: bomb-limit");
		classify_result_clear(&r);
		g_byte_array_unref(inner);
		inner = zip_build(&m, 1, false);
		for (i = 0; i < 2; i++) {
			struct zmember z = { "inner.zip", inner->data, inner->len, false };

			b = zip_build(&z, 1, false);
			g_byte_array_unref(inner);
			inner = b;
		}
		classify_bytes(x, "shallow.zip", inner, &r);
		CHECK(has_reason(&r, "iban") && !has_reason(&r, "bomb-limit"), "3 nested zips: IBAN found");
		classify_result_clear(&r);
		g_byte_array_unref(inner);
	}
	/* billion laughs in a docx */
	{
		const char *doc = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 "
			"\"&lol;&lol;&lol;&lol;&lol;\">]><w:document><w:body><w:p><w:r><w:t>&lol2;</w:t></w:r></w:p>"
			"</w:body></w:document>";
		struct zmember m[2] = {
			{ "[Content_Types].xml", (const unsigned char *)"<Types/>", 8, true },
			{ "word/document.xml", (const unsigned char *)doc, strlen(doc), true },
		};

		b = zip_build(m, 2, false);
		classify_bytes(x, "lolz.docx", b, &r);
		CHECK(has_reason(&r, "bomb-limit"), "XML entity declarations: bomb-limit");
		classify_result_clear(&r);
		g_byte_array_unref(b);
	}
	/* broken input: every truncation of a zip and a PDF, random bytes */
	{
		const char *t = "IBAN DE89 3704 0044 0532 0130 00 Steuer-ID 86095742719";
		struct zmember m = { "a.txt", (const unsigned char *)t, strlen(t), true };
		char *pdfpath = g_build_filename(unit_srcdir(), "tests/data/classify/payslip.pdf", NULL);
		char *pdf = NULL;
		gsize pdflen = 0;
		unsigned seed = 1;
		bool ok = true;

		b = zip_build(&m, 1, false);
		for (i = 0; i < b->len; i++) {
			struct classify_result rr;

			classify_result_init(&rr);
			classify_buffer(x, "cut.zip", NULL, b->data, i, &rr);
			classify_result_clear(&rr);
		}
		g_file_get_contents(pdfpath, &pdf, &pdflen, NULL);
		for (i = 0; pdf != NULL && i < pdflen; i += 7) {
			struct classify_result rr;

			classify_result_init(&rr);
			classify_buffer(x, "cut.pdf", NULL, pdf, i, &rr);
			classify_result_clear(&rr);
		}
		for (i = 0; i < 200; i++) {
			unsigned char junk[512];
			size_t k;
			struct classify_result rr;

			for (k = 0; k < sizeof junk; k++)
				junk[k] = (unsigned char)((seed = seed * 1103515245u + 12345u) >> 16);
			memcpy(junk, i % 2 ? "PK\x03\x04" : "%PDF", 4);
			if (i % 3 == 0)
				memcpy(junk + sizeof junk - 22, "PK\x05\x06", 4);
			classify_result_init(&rr);
			classify_buffer(x, "junk", NULL, junk, sizeof junk, &rr);
			ok = ok && rr.level != NULL;
			classify_result_clear(&rr);
		}
		CHECK(ok && pdf != NULL, "truncated zips/PDFs and junk classify without crash");
		g_free(pdf);
		g_free(pdfpath);
		g_byte_array_unref(b);
	}
	getrusage(RUSAGE_SELF, &ru1);
	CHECK(now_s() - t0 < 30.0, "bomb tests bounded in time (%.1f s)", now_s() - t0);
	CHECK(ru1.ru_maxrss - ru0.ru_maxrss < 300 * 1024, "bomb tests bounded in memory (+%ld KiB max RSS)",
		ru1.ru_maxrss - ru0.ru_maxrss);
	classify_free(x);
	conf_free(c);
	g_free(zeros);
}

static void
test_stream(void)
{
	struct conf *c = conf_load(NULL, NULL);
	struct classify_ctx *x;
	struct classify_job *job;
	struct classify_result r;
	GString *big = g_string_new("");
	size_t i, boundary;

	conf_set(c, "classify.max_text", "64k", NULL);
	x = classify_new(c, NULL);
	while (big->len < 65536 - 10)
		g_string_append(big, "Lorem ipsum dolor sit amet. ");
	g_string_truncate(big, 65536 - 10);
	boundary = big->len;
	g_string_append(big, " IBAN DE89 3704 0044 0532 0130 00 ");   /* crosses the first window */
	for (i = 0; i < 200; i++)
		g_string_append(big, "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ");
	g_string_append(big, "Karte 4111 1111 1111 1111\n");
	job = classify_job_new(x, "big.txt", "text/plain");
	for (i = 0; i < big->len; i += 1000)
		classify_job_feed(job, big->str + i, MIN((size_t)1000, big->len - i));
	classify_result_init(&r);
	classify_job_finish(job, &r);
	classify_finish(x, &r, true);
	CHECK(reason_count(&r, "iban") == 1 && reason_count(&r, "card") == 1,
		"text over max_text scanned in windows: IBAN across a window edge at %zu and a card at the end "
		"found once each (%s)", boundary, r.reasons);
	classify_result_clear(&r);

	/* a container over max_text is not-inspectable */
	{
		GByteArray *zip;
		unsigned char *noise = g_malloc(100000);
		struct zmember m = { "n.bin", noise, 100000, false };

		for (i = 0; i < 100000; i++)
			noise[i] = (unsigned char)(i * 7);
		zip = zip_build(&m, 1, false);
		classify_result_init(&r);
		classify_buffer(x, "big.zip", "application/zip", zip->data, zip->len, &r);
		CHECK(has_reason(&r, "not-inspectable"), "zip over max_text: not-inspectable");
		classify_result_clear(&r);
		g_byte_array_unref(zip);
		g_free(noise);
	}
	/* the first window is cut at 64k - 512: inside an "ä" here. Its German
	 * Art. 9 terms (one with an umlaut) are read as UTF-8, not windows-1252 */
	g_string_assign(big, "Arbeitsunfähigkeit laut Krankschreibung.\n");
	if (big->len % 2 == 0)
		g_string_append_c(big, ' ');
	while (big->len < 3 * 65536)
		g_string_append(big, "ä");
	CHECK(((unsigned char)big->str[65536 - 512] & 0xC0) == 0x80, "test text: the cut falls inside a character");
	job = classify_job_new(x, "liste.txt", "text/plain");
	for (i = 0; i < big->len; i += 1000)
		classify_job_feed(job, big->str + i, MIN((size_t)1000, big->len - i));
	classify_result_init(&r);
	classify_job_finish(job, &r);
	classify_finish(x, &r, true);
	CHECK(has_reason(&r, "art9-health") && strcmp(r.level, "STRENG-VERTRAULICH") == 0,
		"window cut inside a UTF-8 character: the window is still read as UTF-8 (%s)", r.reasons);
	classify_result_clear(&r);
	g_string_free(big, TRUE);
	classify_free(x);
	conf_free(c);
}

/* ---- TNEF (MS-OXTNEF) built here ---- */

static void
tnef_attr(GByteArray *b, unsigned level, uint32_t attr, const void *data, size_t n)
{
	const unsigned char *d = data;
	unsigned sum = 0;
	guint8 lv = (guint8)level;
	size_t i;

	for (i = 0; i < n; i++)
		sum += d[i];
	g_byte_array_append(b, &lv, 1);
	le32(b, attr);
	le32(b, (uint32_t)n);
	g_byte_array_append(b, d, (guint)n);
	le16(b, sum & 0xFFFF);
}

/* one variable-length MAPI value (count 1, length, data, padding) */
static void
mapi_var(GByteArray *p, unsigned type, unsigned id, const void *v, size_t n)
{
	static const guint8 pad[4] = { 0 };

	le16(p, type);
	le16(p, id);
	le32(p, 1);
	le32(p, (uint32_t)n);
	g_byte_array_append(p, v, (guint)n);
	g_byte_array_append(p, pad, (guint)((4 - (n & 3)) & 3));
}

static const unsigned char iid_imessage[16] = {
	0x07, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46,
};

/*
 * tnef_build - signature, version, code page, one attachment group per file:
 * attAttachRendData, attAttachTitle (8.3), attAttachData, attAttachment with
 * PR_ATTACH_LONG_FILENAME as PT_UNICODE; embedded: the file is an inner TNEF
 * stream attached as PR_ATTACH_DATA_OBJ (PT_OBJECT, IID_IMessage) and
 * attAttachData holds only Outlook's placeholder text
 */
static GByteArray *
tnef_build(const char *const *titles, const char *const *longnames, const GByteArray *const *files, size_t n,
	bool embedded)
{
	static const unsigned char rend[14] = { 1, 0, 0xFF, 0xFF, 0xFF, 0xFF };
	GByteArray *b = g_byte_array_new();
	size_t i;

	le32(b, 0x223E9F78);
	le16(b, 0x4711);
	tnef_attr(b, 1, 0x00089006, "\0\0\1\0", 4);
	tnef_attr(b, 1, 0x00069007, "\xe4\x04\0\0\0\0\0\0", 8);
	for (i = 0; i < n; i++) {
		GByteArray *props = g_byte_array_new();
		glong wl = 0;
		gunichar2 *w = longnames[i] != NULL ? g_utf8_to_utf16(longnames[i], -1, NULL, &wl, NULL) : NULL;

		tnef_attr(b, 2, 0x00069002, rend, sizeof rend);
		tnef_attr(b, 2, 0x00018010, titles[i], strlen(titles[i]) + 1);
		le32(props, (w != NULL ? 1 : 0) + (embedded ? 1 : 0));
		if (w != NULL)
			mapi_var(props, 0x001F, 0x3707, w, (size_t)(wl + 1) * 2);
		if (embedded) {
			GByteArray *obj = g_byte_array_new();

			/* as Outlook writes it: a placeholder in attAttachData, the message in the object */
			tnef_attr(b, 2, 0x0006800F, "This attachment is a MAPI 1.0 embedded object", 46);
			g_byte_array_append(obj, iid_imessage, 16);
			g_byte_array_append(obj, files[i]->data, files[i]->len);
			mapi_var(props, 0x000D, 0x3701, obj->data, obj->len);
			g_byte_array_unref(obj);
		} else {
			tnef_attr(b, 2, 0x0006800F, files[i]->data, files[i]->len);
		}
		tnef_attr(b, 2, 0x00069005, props->data, props->len);
		g_byte_array_unref(props);
		g_free(w);
	}
	return b;
}

static void
test_tnef(void)
{
	const char *txt = "Kontoauszug\nIBAN DE89 3704 0044 0532 0130 00\nSteuer-ID 86095742719\n";
	GByteArray *file = g_byte_array_new(), *t, *docx;
	const char *titles[] = { "KONTOA~1.TXT" }, *longs[] = { "Kontoauszug März.txt" };
	const GByteArray *files[1];
	struct classify_result r;
	size_t i;

	g_byte_array_append(file, (const guint8 *)txt, (guint)strlen(txt));
	files[0] = file;
	t = tnef_build(titles, longs, files, 1, false);
	classify_result_init(&r);
	classify_buffer(ctx_g, "winmail.dat", "application/ms-tnef", t->data, t->len, &r);
	classify_finish(ctx_g, &r, true);
	CHECK(has_reason(&r, "iban") && has_reason(&r, "steuer-id") && strcmp(r.level, "VERTRAULICH") == 0 &&
		has_where(&r, "iban", "winmail.dat > Kontoauszug März.txt") && !has_reason(&r, "not-inspectable"),
		"TNEF stream with a text file: IBAN and Steuer-ID found at 'winmail.dat > Kontoauszug März.txt' (%s)",
		r.reasons);
	classify_result_clear(&r);

	/* a docx inside winmail.dat, 8.3 title only */
	{
		struct zmember m[2] = {
			{ "[Content_Types].xml", (const unsigned char *)"<Types/>", 8, true },
			{ "word/document.xml", (const unsigned char *)"<w:document><w:body><w:p><w:r><w:t>IBAN DE89 3704 "
				"0044 0532 0130 00</w:t></w:r></w:p></w:body></w:document>", 0, true },
		};
		const char *dt[] = { "Gehalt.docx" }, *dl[] = { NULL };
		const GByteArray *df[1];
		GByteArray *w;

		m[1].len = strlen((const char *)m[1].data);
		docx = zip_build(m, 2, false);
		df[0] = docx;
		w = tnef_build(dt, dl, df, 1, false);
		classify_result_init(&r);
		classify_buffer(ctx_g, "winmail.dat", NULL, w->data, w->len, &r);
		classify_finish(ctx_g, &r, true);
		CHECK(has_where(&r, "iban", "winmail.dat > Gehalt.docx: word/document.xml"),
			"docx inside winmail.dat (found by content, no declared type): IBAN at "
			"'winmail.dat > Gehalt.docx: word/document.xml' (%s)", r.reasons);
		classify_result_clear(&r);
		g_byte_array_unref(w);
	}

	/* embedded messages: 2 levels found with the path, 8 levels over max_depth 4 */
	{
		const char *et[] = { "Weitergeleitet" }, *el[] = { NULL };
		GByteArray *inner = g_byte_array_ref(t);
		bool shallow = false;

		for (i = 0; i < 8; i++) {
			const GByteArray *ef[1] = { inner };
			GByteArray *outer = tnef_build(et, el, ef, 1, true);

			g_byte_array_unref(inner);
			inner = outer;
			if (i == 1) {
				classify_result_init(&r);
				classify_buffer(ctx_g, "winmail.dat", NULL, inner->data, inner->len, &r);
				shallow = has_where(&r, "iban", "winmail.dat > Weitergeleitet > Weitergeleitet > Kontoauszug März.txt") &&
					!has_reason(&r, "bomb-limit");
				classify_result_clear(&r);
			}
		}
		classify_result_init(&r);
		classify_buffer(ctx_g, "winmail.dat", NULL, inner->data, inner->len, &r);
		classify_finish(ctx_g, &r, true);
		CHECK(shallow && has_reason(&r, "bomb-limit") && !has_reason(&r, "iban"),
			"embedded TNEF messages: 2 levels found with the path, 8 levels over max_depth: bomb-limit (%s)",
			r.reasons);
		classify_result_clear(&r);
		g_byte_array_unref(inner);
	}

	/* truncated and garbled: the finding, never a crash; what was read is still classified */
	{
		bool ok = true;
		unsigned seed = 7, findings = 0;

		classify_result_init(&r);
		classify_buffer(ctx_g, "winmail.dat", NULL, t->data, t->len - 40, &r);
		CHECK(has_reason(&r, "not-inspectable") && strstr(finding_detail(&r, "not-inspectable"), "TNEF truncated") &&
			has_reason(&r, "iban"),
			"TNEF cut inside its last attribute: not-inspectable '%s', the IBAN before the cut still found (%s)",
			finding_detail(&r, "not-inspectable"), r.reasons);
		classify_result_clear(&r);
		{
			GByteArray *g = g_byte_array_new();

			g_byte_array_append(g, t->data, t->len);
			g->data[6 + 11 + 4] = 7;   /* level byte of the second attribute */
			classify_result_init(&r);
			classify_buffer(ctx_g, "winmail.dat", NULL, g->data, g->len, &r);
			CHECK(strstr(finding_detail(&r, "not-inspectable"), "bad attribute level") != NULL,
				"garbled TNEF (bad attribute level): not-inspectable '%s'", finding_detail(&r, "not-inspectable"));
			classify_result_clear(&r);
			g_byte_array_unref(g);
		}
		classify_result_init(&r);
		classify_buffer(ctx_g, "winmail.dat", "application/ms-tnef", "not a TNEF stream", 17, &r);
		CHECK(strstr(finding_detail(&r, "not-inspectable"), "no TNEF signature") != NULL,
			"declared application/ms-tnef without the signature: not-inspectable");
		classify_result_clear(&r);
		for (i = 0; i <= t->len; i++) {
			classify_result_init(&r);
			classify_buffer(ctx_g, "winmail.dat", NULL, t->data, i, &r);
			ok = ok && r.level != NULL;
			findings += i >= 6 && i < t->len && has_reason(&r, "not-inspectable");
			classify_result_clear(&r);
		}
		for (i = 0; i < 300; i++) {
			GByteArray *g = g_byte_array_new();
			size_t k;

			g_byte_array_append(g, t->data, t->len);
			for (k = 0; k < 1 + i % 8; k++) {
				seed = seed * 1103515245u + 12345u;
				g->data[4 + (seed >> 8) % (g->len - 4)] ^= (guint8)(1u << ((seed >> 4) % 8));
			}
			classify_result_init(&r);
			classify_buffer(ctx_g, "winmail.dat", NULL, g->data, g->len, &r);
			ok = ok && r.level != NULL;
			classify_result_clear(&r);
			g_byte_array_unref(g);
		}
		/* 6 attributes: a cut at one of the 5 inner boundaries looks like a complete stream */
		CHECK(ok && findings == t->len - 6 - 5, "every truncation (%u of %u inside an attribute with a finding) "
			"and 300 bit-flipped TNEF streams classify without crash", findings, t->len - 6 - 5);
	}

	/* the corpus streams (seeds of fuzz_classify: one name byte, then the stream byte-exact) */
	{
		char *dir = g_build_filename(unit_srcdir(), "tests/fuzz/corpus/classify", NULL);
		GDir *d = g_dir_open(dir, 0, NULL);
		const char *e;
		unsigned n = 0, named = 0;

		while (d != NULL && (e = g_dir_read_name(d)) != NULL) {
			char *path, *data = NULL;
			gsize len = 0;

			if (!g_str_has_prefix(e, "tnef-"))
				continue;
			path = g_build_filename(dir, e, NULL);
			if (g_file_get_contents(path, &data, &len, NULL) && len > 1) {
				classify_result_init(&r);
				classify_buffer(ctx_g, "winmail.dat", "application/ms-tnef", data + 1, len - 1, &r);
				classify_finish(ctx_g, &r, true);
				n += r.level != NULL && strcmp(r.true_type, "application/vnd.ms-tnef") == 0;
				if (strstr(e, "one-file") != NULL)
					named += has_where(&r, "email", "winmail.dat > AUTHORS");
				if (strstr(e, "unicode-mapi-attr-name") != NULL)
					named += !has_reason(&r, "not-inspectable") && has_where(&r, "email", "winmail.dat > message body");
				if (strstr(e, "garbage-at-end") != NULL || strstr(e, "IPM-DistList") != NULL)
					named += !has_reason(&r, "not-inspectable");
				classify_result_clear(&r);
			}
			g_free(data);
			g_free(path);
		}
		if (d != NULL)
			g_dir_close(d);
		CHECK(n == 14 && named == 4, "the 14 corpus TNEF streams classify (%u); AUTHORS read by its name, the "
			"Unicode body read, trailing garbage and wrong checksums tolerated (%u of 4)", n, named);
		g_free(dir);
	}
	g_byte_array_unref(docx);
	g_byte_array_unref(t);
	g_byte_array_unref(file);
}

/* compressed RTF (MS-OXRTFCP sample: "{\rtf1\ansi\ansicpg1252\pard hello world}\r\n") and RTF text */
static void
test_rtf(void)
{
	static const unsigned char comp[] = {
		0x2d, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00, 0x00, 0x4c, 0x5a, 0x46, 0x75, 0xf1, 0xc5, 0xc7, 0xa7,
		0x03, 0x00, 0x0a, 0x00, 0x72, 0x63, 0x70, 0x67, 0x31, 0x32, 0x35, 0x42, 0x32, 0x0a, 0xf3, 0x20,
		0x68, 0x65, 0x6c, 0x09, 0x00, 0x20, 0x62, 0x77, 0x05, 0xb0, 0x6c, 0x64, 0x7d, 0x0a, 0x80, 0x0f,
		0xa0,
	};
	GByteArray *out = g_byte_array_new();
	GString *text = g_string_new("");
	const char *rtf = "{\\rtf1\\ansi\\ansicpg1252{\\fonttbl{\\f0 Arial;}}{\\*\\generator x;}\\f0 Gr\\'fc\\'dfe "
		"\\u8364?5 {\\pict 0123}Konto\\par DE89\\~3704}";
	bool ok = cls_lzfu(comp, sizeof comp, 4096, out);

	CHECK(ok && out->len == 43 && memcmp(out->data, "{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n", 43) == 0,
		"LZFu: the MS-OXRTFCP example decompresses (%u bytes)", out->len);
	cls_rtf_text(rtf, strlen(rtf), 4096, text);
	CHECK(strcmp(text->str, "Grüße €5 Konto\nDE89\xC2\xA0" "3704") == 0,
		"RTF text: \\'xx as windows-1252, \\u, groups skipped, \\par ('%s')", text->str);
	g_byte_array_unref(out);
	g_string_free(text, TRUE);
}

/* /Differences inside the font dictionary over MacRomanEncoding: codes 224.. drawn as digits */
static void
test_pdf_differences(void)
{
	static const char *const objs[] = {
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F7 5 0 R >> >> /Contents 4 0 R >>",
		NULL,
		"<< /Type /Font /Subtype /Type1 /BaseFont /Times-Roman /Encoding << /BaseEncoding /MacRomanEncoding "
		"/Differences [ 224 /zero /one /two /three /four /five /six /seven /eight /nine.osf /uni002D ] >> >>",
	};
	/* "DE89 3704 0044 0532 0130 00" and "-ID: 86095742719": digits as codes 224..233 (octal \340..),
	 * the hyphen as 234 (/uni002D); \x9f is MacRoman ü */
	const char *content = "BT /F7 11 Tf 72 700 Td (Gehaltsabrechnung f\x9fr M\x9fller) Tj 0 -14 Td "
		"[(IBAN DE\\350\\351 \\343\\347\\340\\344 \\340\\340\\344\\344 \\340\\345\\343\\342 "
		"\\340\\341\\343\\340 \\340\\340)] TJ 0 -14 Td (Steuer) Tj "
		"(\\352ID: \\350\\346\\340\\351\\345\\347\\344\\342\\347\\341\\351) Tj ET";
	GString *pdf = g_string_new("%PDF-1.4\n");
	struct classify_result r;
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(objs); i++) {
		if (objs[i] != NULL)
			g_string_append_printf(pdf, "%zu 0 obj\n%s\nendobj\n", i + 1, objs[i]);
		else
			g_string_append_printf(pdf, "%zu 0 obj\n<< /Length %zu >>\nstream\n%s\nendstream\nendobj\n", i + 1,
				strlen(content), content);
	}
	g_string_append(pdf, "trailer\n<< /Root 1 0 R >>\n%%EOF\n");
	classify_result_init(&r);
	classify_buffer(ctx_g, "abrechnung.pdf", "application/pdf", pdf->str, pdf->len, &r);
	classify_finish(ctx_g, &r, true);
	CHECK(reason_count(&r, "iban") == 1 && reason_count(&r, "steuer-id") == 1 &&
		has_where(&r, "iban", "abrechnung.pdf: page 1 (obj 4)"),
		"PDF font with inline /Encoding << /BaseEncoding /MacRomanEncoding /Differences >>: IBAN and Steuer-ID "
		"drawn with remapped digit glyphs found on page 1 (%s)", r.reasons);
	classify_result_clear(&r);
	g_string_free(pdf, TRUE);
}

static void
test_types(void)
{
	static const unsigned char elf[64] = { 0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0x3e, 0,
		1, 0, 0, 0 };
	struct classify_result r;

	classify_result_init(&r);
	classify_buffer(ctx_g, "rechnung.pdf", "application/pdf", elf, sizeof elf, &r);
	classify_finish(ctx_g, &r, true);
	CHECK(has_reason(&r, "executable") && has_reason(&r, "type-mismatch"),
		"ELF named .pdf: executable and type-mismatch (%s, %s)", r.true_type ? r.true_type : "-", r.reasons);
	classify_result_clear(&r);
	classify_result_init(&r);
	classify_buffer(ctx_g, "notes.txt", "text/plain", "hello world\n", 12, &r);
	CHECK(!has_reason(&r, "type-mismatch") && r.true_type != NULL && strcmp(r.true_type, "text/plain") == 0,
		"plain text: no mismatch, true type text/plain");
	classify_result_clear(&r);
}

/* the labelled set: expected class per file; precision/recall per detector */
static void
test_dataset(void)
{
	char *dir = g_build_filename(unit_srcdir(), "tests/data/classify", NULL);
	char *path = g_build_filename(dir, "EXPECTED.tsv", NULL), *text = NULL;
	char **lines, **l;
	GHashTable *tp = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	GHashTable *fp = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	GHashTable *fn = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	GHashTable *names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	GHashTableIter it;
	gpointer k;
	unsigned files = 0, class_ok = 0;

	CHECK(g_file_get_contents(path, &text, NULL, NULL), "tests/data/classify/EXPECTED.tsv readable");
	lines = g_strsplit(text != NULL ? text : "", "\n", -1);
	for (l = lines; *l != NULL; l++) {
		char **f;
		char *file;
		struct classify_result r;
		int fd;
		guint i;

		if ((*l)[0] == '#' || (*l)[0] == '\0')
			continue;
		f = g_strsplit(*l, "\t", 3);
		if (g_strv_length(f) != 3) {
			g_strfreev(f);
			continue;
		}
		file = g_build_filename(dir, f[0], NULL);
		classify_result_init(&r);
		if (g_str_has_suffix(f[0], ".eml")) {
			GMimeStream *st = g_mime_stream_file_open(file, "r", NULL);
			GMimeParser *p = g_mime_parser_new_with_stream(st);
			GMimeMessage *msg = g_mime_parser_construct_message(p, NULL);

			if (msg != NULL)
				classify_message_gmime(ctx_g, msg, true, &r);
			g_clear_object(&msg);
			g_object_unref(p);
			g_object_unref(st);
		} else {
			fd = open(file, O_RDONLY);
			classify_fd(ctx_g, f[0], NULL, fd, &r);
			classify_finish(ctx_g, &r, true);
			close(fd);
		}
		files++;
		if (strcmp(f[1], "VS") == 0 ? r.vs && r.action == CLASSIFY_REJECT : (!r.vs && strcmp(r.level, f[1]) == 0))
			class_ok++;
		else
			CHECK(false, "%s: expected %s, got %s%s (%s)", f[0], f[1], r.level, r.vs ? " VS" : "", r.reasons);
		{
			char **want = g_strsplit(f[2], ",", -1), **w;

			for (w = want; *w != NULL; w++) {
				if (strcmp(*w, "-") == 0)
					continue;
				g_hash_table_add(names, g_strdup(*w));
				if (has_reason(&r, *w))
					g_hash_table_replace(tp, g_strdup(*w), GUINT_TO_POINTER(GPOINTER_TO_UINT(g_hash_table_lookup(tp, *w)) + 1));
				else
					g_hash_table_replace(fn, g_strdup(*w), GUINT_TO_POINTER(GPOINTER_TO_UINT(g_hash_table_lookup(fn, *w)) + 1));
			}
			for (i = 0; r.reason_list != NULL && i < r.reason_list->len; i++) {
				const char *n = g_array_index(r.reason_list, struct classify_reason, i).name;

				if (strcmp(n, "email") == 0 || strcmp(n, "phone") == 0 || strcmp(n, "dob") == 0 ||
				    strncmp(n, "label:", 6) == 0 || strncmp(n, "vs:", 3) == 0)
					continue;   /* counts and labels: not detectors of the set */
				if (!g_strv_contains((const char *const *)want, n)) {
					g_hash_table_add(names, g_strdup(n));
					g_hash_table_replace(fp, g_strdup(n), GUINT_TO_POINTER(GPOINTER_TO_UINT(g_hash_table_lookup(fp, n)) + 1));
				}
			}
			g_strfreev(want);
		}
		classify_result_clear(&r);
		g_free(file);
		g_strfreev(f);
	}
	CHECK(files >= 25 && class_ok == files, "labelled set: %u/%u files with the expected class", class_ok, files);
	g_hash_table_iter_init(&it, names);
	while (g_hash_table_iter_next(&it, &k, NULL)) {
		unsigned t = GPOINTER_TO_UINT(g_hash_table_lookup(tp, k)), p = GPOINTER_TO_UINT(g_hash_table_lookup(fp, k));
		unsigned n = GPOINTER_TO_UINT(g_hash_table_lookup(fn, k));
		double prec = t + p ? (double)t / (t + p) : 0.0, rec = t + n ? (double)t / (t + n) : 0.0;

		CHECK(prec >= 0.95 && rec >= 0.95, "detector %s: precision %.2f recall %.2f (tp %u fp %u fn %u)",
			(const char *)k, prec, rec, t, p, n);
	}
	g_strfreev(lines);
	g_free(text);
	g_free(path);
	g_free(dir);
	g_hash_table_destroy(tp);
	g_hash_table_destroy(fp);
	g_hash_table_destroy(fn);
	g_hash_table_destroy(names);
}

/* one ctx shared by threads (the milter's use): same results everywhere */
static gpointer
thread_run(gpointer arg)
{
	const GByteArray *doc = arg;
	unsigned i, good = 0;

	for (i = 0; i < 20; i++) {
		struct classify_result r;

		classify_result_init(&r);
		classify_buffer(ctx_g, "iban_runs.docx", NULL, doc->data, doc->len, &r);
		classify_finish(ctx_g, &r, true);
		good += strcmp(r.level, "VERTRAULICH") == 0 && reason_count(&r, "iban") == 1;
		classify_result_clear(&r);
	}
	return GUINT_TO_POINTER(good);
}

static void
test_threads(void)
{
	char *path = g_build_filename(unit_srcdir(), "tests/data/classify/iban_runs.docx", NULL);
	char *data = NULL;
	gsize len = 0;
	GByteArray *doc = g_byte_array_new();
	GThread *t[4];
	unsigned good = 0;
	size_t i;

	g_file_get_contents(path, &data, &len, NULL);
	g_byte_array_append(doc, (const guint8 *)data, (guint)len);
	for (i = 0; i < G_N_ELEMENTS(t); i++)
		t[i] = g_thread_new("cls", thread_run, doc);
	for (i = 0; i < G_N_ELEMENTS(t); i++)
		good += GPOINTER_TO_UINT(g_thread_join(t[i]));
	CHECK(len > 0 && good == 80, "4 threads x 20 classifications on one ctx: all VERTRAULICH/iban:1 (%u)", good);
	g_byte_array_unref(doc);
	g_free(data);
	g_free(path);
}

/* cls_strdown (the fast lower case of the Art. 9 scan) gives the bytes of g_utf8_strdown: every
 * code point alone, after a Greek capital sigma (its final/non-final rule), before a letter and
 * a blank, and a random mix */
static void
test_strdown_one(const char *what, const GString *s)
{
	char *want = g_utf8_strdown(s->str, (gssize)s->len);
	size_t n = 0, i = 0, wl = strlen(want);
	char *got = cls_strdown(s->str, s->len, &n);

	while (i < n && i < wl && got[i] == want[i])
		i++;
	CHECK(n == wl && i == n && got[n] == '\0', "cls_strdown == g_utf8_strdown: %s (%zu bytes in, %zu out, equal up to %zu)",
		what, s->len, n, i);
	g_free(got);
	g_free(want);
}

static void
test_strdown(void)
{
	GString *all = g_string_new(""), *sigma = g_string_new(""), *word = g_string_new("");
	GString *mix = g_string_new("");
	static const gunichar pick[] = { 'A', 'z', ' ', '.', 0xC4, 0xD6, 0xDC, 0xDF, 0xE4, 0xD7, 0xF7, 0x130,
		0x131, 0x3A3, 0x3C2, 0x391, 0x1E9E, 0x212A, 0x2126, 0x1C5, 0x1F88, 0x10400, 0x410, 0x42F,
		0x301, 0x307, 0x20AC, 0x201E, 0xA0, 0x202F, 0x2160, 0x24B6, 0x1E9B };
	GRand *r = g_rand_new_with_seed(20261123);
	gunichar c;
	int k;

	for (c = 1; c <= 0x10FFFF; c++) {
		if (!g_unichar_validate(c))
			continue;
		g_string_append_unichar(all, c);
		g_string_append_unichar(sigma, 0x3A3);
		g_string_append_unichar(sigma, c);
		g_string_append_unichar(word, c);
		g_string_append(word, "x ");
	}
	for (k = 0; k < 200000; k++)
		g_string_append_unichar(mix, pick[g_rand_int_range(r, 0, (gint32)G_N_ELEMENTS(pick))]);
	test_strdown_one("all code points", all);
	test_strdown_one("each after a capital sigma", sigma);
	test_strdown_one("each before a letter and a blank", word);
	test_strdown_one("random mix", mix);
	g_rand_free(r);
	g_string_free(all, TRUE);
	g_string_free(sigma, TRUE);
	g_string_free(word, TRUE);
	g_string_free(mix, TRUE);
}

/* a job is done once the first MiB settles the result (media, executables,
 * unknown binary); text and containers are read on */
static void
test_job_done(void)
{
	static const unsigned char elf[24] = { 0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0x3e, 0,
		1, 0, 0, 0 };
	size_t n = 3u << 20, i;
	unsigned char *bin = g_malloc(n);
	char *text = g_malloc(n);
	struct classify_job *job;
	struct classify_result r;
	uint32_t x = 2463534242u;

	for (i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		bin[i] = (unsigned char)x;
		text[i] = "Lager Nord, Schrauben ok.\n"[i % 26];
	}
	job = classify_job_new(ctx_g, "noise.bin", "application/octet-stream");
	for (i = 0; i < n && !classify_job_done(job); i += 65536)
		classify_job_feed(job, bin + i, MIN((size_t)65536, n - i));
	CHECK(i > 0 && i <= (1u << 20) + 65536, "random binary: done after the first MiB (%zu bytes fed)", i);
	classify_result_init(&r);
	classify_job_finish(job, &r);
	CHECK(has_reason(&r, "not-inspectable") && r.decoded == i, "random binary: not-inspectable, %"
		G_GUINT64_FORMAT " bytes counted", r.decoded);
	classify_result_clear(&r);

	memcpy(bin, elf, sizeof elf);
	job = classify_job_new(ctx_g, "rechnung.pdf", "application/pdf");
	for (i = 0; i < n && !classify_job_done(job); i += 65536)
		classify_job_feed(job, bin + i, MIN((size_t)65536, n - i));
	classify_result_init(&r);
	classify_job_finish(job, &r);
	CHECK(i < n && has_reason(&r, "executable") && has_reason(&r, "type-mismatch"),
		"3 MiB ELF named .pdf: done early, executable and type-mismatch (%s)", r.reasons);
	classify_result_clear(&r);

	memcpy(text + n - 40, "\nIBAN DE89 3704 0044 0532 0130 00\n", 34);
	job = classify_job_new(ctx_g, "liste.txt", "text/plain");
	for (i = 0; i < n && !classify_job_done(job); i += 65536)
		classify_job_feed(job, text + i, MIN((size_t)65536, n - i));
	classify_result_init(&r);
	classify_job_finish(job, &r);
	CHECK(i >= n && reason_count(&r, "iban") == 1, "3 MiB text: read to the end, the IBAN at the end found (%s)",
		r.reasons);
	classify_result_clear(&r);
	g_free(bin);
	g_free(text);
}

/* ---- single pass: parts deferred to the caller's stream --------------- */

struct defer_rec {
	const char *want;   /* file name to defer */
	char *path;         /* its part path */
	GMimePart *part;
	unsigned asked;
};

static bool
defer_by_name(GMimeObject *part, const char *path, void *arg)
{
	struct defer_rec *d = arg;
	const char *fn = GMIME_IS_PART(part) ? g_mime_part_get_filename(GMIME_PART(part)) : NULL;

	d->asked++;
	if (fn == NULL || strcmp(fn, d->want) != 0)
		return false;
	g_free(d->path);
	d->path = g_strdup(path);
	d->part = GMIME_PART(part);
	return true;
}

/* feed the decoded content of part to the pending job in 1000-byte steps */
static void
feed_pending(struct classify_result *r, struct defer_rec *d)
{
	GMimeDataWrapper *w = g_mime_part_get_content(d->part);
	GMimeStream *mem = g_mime_stream_mem_new();
	GByteArray *b;
	struct classify_job *job = classify_pending_job(ctx_g, r, d->path);
	size_t i;

	g_mime_data_wrapper_write_to_stream(w, mem);
	b = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	for (i = 0; i < b->len; i += 1000)
		classify_job_feed(job, b->data + i, MIN((size_t)1000, b->len - i));
	classify_pending_finish(ctx_g, r, d->path, job);
	g_object_unref(mem);
}

static GMimeMessage *
parse_text(const char *text)
{
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(text, strlen(text));
	GMimeParser *p = g_mime_parser_new_with_stream(st);
	GMimeMessage *msg = g_mime_parser_construct_message(p, NULL);

	g_object_unref(p);
	g_object_unref(st);
	return msg;
}

static void
test_defer(void)
{
	static const char fmt[] =
		"From: a@example.gov\r\nTo: b@example.net\r\nSubject: Daten\r\nMIME-Version: 1.0\r\n"
		"Content-Type: multipart/mixed; boundary=\"bb\"\r\n\r\n--bb\r\n"
		"Content-Type: text/plain\r\n\r\nAnbei.\r\n--bb\r\n"
		"Content-Type: text/plain; name=\"note.txt\"\r\nContent-Disposition: attachment; filename=\"note.txt\"\r\n\r\n"
		"Gruss aus dem Lager.\r\n--bb\r\n"
		"Content-Type: text/csv; name=\"data.csv\"\r\nContent-Disposition: attachment; filename=\"data.csv\"\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--bb--\r\n";
	const char *payloads[] = {
		"Name;IBAN\nMeier;DE89 3704 0044 0532 0130 00\n",
		"Lagerliste\nVS-NUR FUER DEN DIENSTGEBRAUCH\nSchrauben\n",
	};
	size_t k;

	for (k = 0; k < G_N_ELEMENTS(payloads); k++) {
		char *b64 = g_base64_encode((const guchar *)payloads[k], strlen(payloads[k]));
		char *text = g_strdup_printf(fmt, b64);
		GMimeMessage *m1 = parse_text(text), *m2 = parse_text(text);
		struct classify_result whole, r;
		struct defer_rec d = { "data.csv", NULL, NULL, 0 };
		const struct classify_result *pp = NULL;
		guint i;

		classify_result_init(&whole);
		classify_message_gmime(ctx_g, m1, true, &whole);
		classify_result_init(&r);
		classify_message_gmime_defer(ctx_g, m2, true, defer_by_name, &d, &r);
		CHECK(d.asked == 3 && d.path != NULL && classify_pending_count(&r) == 1,
			"defer: asked for each of the 3 leaves, data.csv pending (asked %u)", d.asked);
		CHECK(strcmp(r.level, "OFFEN") == 0 && !r.vs && r.reason_list == NULL,
			"defer: the pending part is not read before its stream (%s %s)", r.level, r.reasons);
		CHECK(r.decoded < whole.decoded, "defer: fewer bytes decoded before the stream (%" G_GUINT64_FORMAT
			" < %" G_GUINT64_FORMAT ")", r.decoded, whole.decoded);
		feed_pending(&r, &d);
		classify_finish(ctx_g, &r, true);
		CHECK(classify_pending_count(&r) == 0 && strcmp(r.level, whole.level) == 0 && r.vs == whole.vs &&
			r.action == whole.action && r.body_action == whole.body_action &&
			r.decoded == whole.decoded && strcmp(r.reasons, whole.reasons) == 0,
			"defer: after the stream the same result as classifying at once (%s %s vs %s %s)",
			r.level, r.reasons, whole.level, whole.reasons);
		for (i = 0; r.parts != NULL && i < r.parts->len; i++)
			if (strcmp(((struct classify_result *)g_ptr_array_index(r.parts, i))->name, "data.csv") == 0)
				pp = g_ptr_array_index(r.parts, i);
		CHECK(pp != NULL && !pp->pending && strcmp(pp->path, d.path) == 0 &&
			(k == 0 ? reason_count(pp, "iban") == 1 : pp->vs),
			"defer: the part entry carries its own result (%s)", pp ? pp->reasons : "missing");
		classify_result_clear(&whole);
		classify_result_clear(&r);
		g_object_unref(m1);
		g_object_unref(m2);
		g_free(d.path);
		g_free(text);
		g_free(b64);
	}
}

int
main(void)
{
	GError *err = NULL;

	g_mime_init();
	conf_g = conf_load(NULL, NULL);
	ctx_g = classify_new(conf_g, &err);
	CHECK(ctx_g != NULL, "classify_new with defaults (%s)", err ? err->message : "ok");
	if (ctx_g == NULL)
		return unit_done();
	test_check_digits();
	test_detect_text();
	test_cells();
	test_labels();
	test_policy();
	test_config();
	test_types();
	test_stream();
	test_defer();
	test_job_done();
	test_bombs();
	test_tnef();
	test_rtf();
	test_pdf_differences();
	test_dataset();
	test_threads();
	test_strdown();
	classify_free(ctx_g);
	conf_free(conf_g);
	return unit_done();
}

/*
 * classify_label.c - label inputs: the Sensitivity header, msip_labels
 * (also the pairs of docProps/custom.xml), Subject markers incl. TLP 2.0 and
 * VS markings, SIO-Label / X-Protective-Marking / X-Classification.
 * Memory: temporary only.
 */
#include "classify_int.h"

#include <string.h>

/* cls_label_text - a label value made safe for the reasons list */
static char *
cls_label_text(const char *v, size_t n)
{
	GString *s = g_string_new("");
	size_t i;

	for (i = 0; i < n && s->len < 64; i++) {
		unsigned char c = (unsigned char)v[i];

		g_string_append_c(s, g_ascii_isalnum(c) || c == '-' || c == '.' || c == '+' || c == ':' || c == '[' || c == ']' ? (char)c : '_');
	}
	return g_string_free(s, FALSE);
}

static void
cls_label(const struct classify_ctx *ctx, const char *source, const char *value, int level,
	struct classify_result *res)
{
	char *shown = cls_label_text(value, strlen(value));
	char *reason = g_strdup_printf("label:%s=%s", source, shown);

	cls_add(res, reason, 1, source, value);
	if (level != CLS_REPORT)
		cls_raise(res, level);
	(void)ctx;
	g_free(reason);
	g_free(shown);
}

/* unfold a header value: CR/LF removed, tabs as blanks */
static char *
cls_unfold(const char *v)
{
	GString *s = g_string_new("");

	for (; *v; v++) {
		if (*v == '\r' || *v == '\n')
			continue;
		g_string_append_c(s, *v == '\t' ? ' ' : *v);
	}
	return g_string_free(s, FALSE);
}

/* cls_msip - "MSIP_Label_<guid>_<Attr>=value;" pairs; any order, case,
 * folding, missing ';' at the end; also docProps/custom.xml pairs */
void
cls_msip(const struct classify_ctx *ctx, const char *source, const char *value, struct classify_result *res)
{
	char *v = cls_unfold(value);
	char **pairs = g_strsplit(v, ";", -1);
	GHashTable *enabled = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	GHashTable *names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	GHashTableIter it;
	gpointer k, val;
	char **p;

	for (p = pairs; *p != NULL; p++) {
		char *pair = g_strstrip(*p), *eq = strchr(pair, '='), *key, *guid, *attr;
		const char *rest;

		if (eq == NULL)
			continue;
		*eq = '\0';
		key = g_strstrip(pair);
		if (g_ascii_strncasecmp(key, "MSIP_Label_", 11) != 0)
			continue;
		rest = key + 11;
		if (strlen(rest) < 38 || rest[36] != '_')
			continue;
		guid = g_ascii_strdown(rest, 36);
		attr = (char *)rest + 37;
		if (g_ascii_strcasecmp(attr, "Enabled") == 0) {
			if (g_ascii_strcasecmp(g_strstrip(eq + 1), "true") == 0)
				g_hash_table_replace(enabled, g_strdup(guid), GINT_TO_POINTER(1));
		} else if (g_ascii_strcasecmp(attr, "Name") == 0) {
			g_hash_table_replace(names, g_strdup(guid), g_strdup(g_strstrip(eq + 1)));
		}
		g_free(guid);
	}
	g_hash_table_iter_init(&it, enabled);
	while (g_hash_table_iter_next(&it, &k, &val)) {
		const char *name = g_hash_table_lookup(names, k);
		int level = name != NULL ? cls_map_find(ctx->labels, name) : -1;

		if (level == -1)
			level = cls_map_find(ctx->labels, k);   /* label GUID configured */
		cls_label(ctx, source, name != NULL ? name : (const char *)k, level == -1 ? CLS_REPORT : level, res);
	}
	g_hash_table_destroy(enabled);
	g_hash_table_destroy(names);
	g_strfreev(pairs);
	g_free(v);
}

/* case-insensitive search for a marker in a subject */
static const char *
cls_strcasestr(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++)
		if (g_ascii_strncasecmp(hay, needle, n) == 0)
			return hay;
	return NULL;
}

static void
cls_subject(const struct classify_ctx *ctx, const char *subject, struct classify_result *res)
{
	static const char *const tlp[] = { "AMBER+STRICT", "AMBER", "RED", "GREEN", "CLEAR", "WHITE" };
	static const int tlp_def[] = { 2, 2, 3, 1, 0, 0 };
	const char *p;
	size_t at = 0, end = 0, len = strlen(subject);
	int vs = 0, k;
	guint i;

	for (end = 0; (k = cls_vs_find(subject, len, end, &at, &end)) != 0;)
		vs |= k;   /* 1 VS-NfD, 2 VS-VERTRAULICH */
	/* VS markings: case-sensitive for GEHEIM */
	/* the subject is a marking position as a whole: any written form anywhere
	 * (any case, blanks, dashes, "Nur für den Dienstgebrauch"; classify_vs.c) */
	if (strstr(subject, "VS-NfD") != NULL || strstr(subject, "VS-NFD") != NULL ||
	    cls_strcasestr(subject, "VS-NUR F") != NULL || (vs & 1) != 0)
		cls_add(res, "vs:VS-NfD", 1, "Subject", "VS-NfD"), res->vs = true;
	if (cls_strcasestr(subject, "VS-VERTRAULICH") != NULL || strstr(subject, "VS-Vertr.") != NULL || (vs & 2) != 0)
		cls_add(res, "vs:VS-VERTRAULICH", 1, "Subject", "VS-VERTRAULICH"), res->vs = true;
	p = strstr(subject, "GEHEIM");
	if (p != NULL && (p == subject || !g_ascii_isalpha(p[-1])) && !g_ascii_isalpha(p[6]))
		cls_add(res, strstr(subject, "STRENG GEHEIM") ? "vs:STRENG-GEHEIM" : "vs:GEHEIM", 1, "Subject",
			"GEHEIM"), res->vs = true;

	/* TLP 2.0: TLP:RED ... (lenient "TLP: RED") */
	for (p = cls_strcasestr(subject, "TLP:"); p != NULL; p = cls_strcasestr(p + 4, "TLP:")) {
		const char *q = p + 4;

		while (*q == ' ')
			q++;
		for (i = 0; i < G_N_ELEMENTS(tlp); i++) {
			size_t n = strlen(tlp[i]);

			if (g_ascii_strncasecmp(q, tlp[i], n) == 0 && !g_ascii_isalnum(q[n]) && q[n] != '+') {
				char *key = g_strdup_printf("TLP:%s", tlp[i]);
				int level = cls_map_find(ctx->subject_markers, key);

				if (level == -1)
					level = tlp_def[i] < ctx->nlevels ? tlp_def[i] : ctx->nlevels - 1;
				cls_label(ctx, "tlp", tlp[i], level, res);
				g_free(key);
				break;
			}
		}
	}
	for (i = 0; i < ctx->subject_markers->len; i++) {
		const struct cls_map *m = &g_array_index(ctx->subject_markers, struct cls_map, i);

		if (strncmp(m->key, "tlp:", 4) == 0)
			continue;
		if (cls_strcasestr(subject, m->shown) != NULL)
			cls_label(ctx, "subject", m->shown, m->level, res);
	}
}

void
classify_header(const struct classify_ctx *ctx, const char *name, const char *value, struct classify_result *res)
{
	char *v;

	if (name == NULL || value == NULL)
		return;
	v = cls_unfold(value);
	g_strstrip(v);
	if (g_ascii_strcasecmp(name, "Sensitivity") == 0) {
		int level = cls_map_find(ctx->labels, v);

		cls_label(ctx, "sensitivity", v, level == -1 ? CLS_REPORT : level, res);
	} else if (g_ascii_strcasecmp(name, "msip_labels") == 0) {
		cls_msip(ctx, "msip", v, res);
	} else if (g_ascii_strcasecmp(name, "Subject") == 0) {
		cls_subject(ctx, v, res);
	} else if (g_ascii_strcasecmp(name, "SIO-Label") == 0 ||
		   g_ascii_strcasecmp(name, "X-Protective-Marking") == 0 ||
		   g_ascii_strcasecmp(name, "X-Classification") == 0) {
		const char *m = cls_strcasestr(v, "marking=");
		char *marking = NULL;

		if (m != NULL) {
			m += 8;
			if (*m == '"')
				marking = g_strndup(m + 1, strcspn(m + 1, "\""));
			else
				marking = g_strndup(m, strcspn(m, ";"));
		} else {
			marking = g_strdup(v);
		}
		cls_subject(ctx, marking, res);   /* VS/TLP markers */
		{
			int level = cls_map_find(ctx->labels, marking);

			if (level != -1)
				cls_label(ctx, "sio", marking, level, res);
		}
		g_free(marking);
	}
	g_free(v);
}

void
classify_headers_gmime(const struct classify_ctx *ctx, GMimeObject *obj, struct classify_result *res)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
	int i, n = hl != NULL ? g_mime_header_list_get_count(hl) : 0;

	for (i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *name = g_mime_header_get_name(h);
		char *val;

		if (g_ascii_strcasecmp(name, "Subject") == 0) {
			val = g_mime_utils_header_decode_text(NULL, g_mime_header_get_raw_value(h));
		} else {
			val = g_strdup(g_mime_header_get_raw_value(h));
		}
		classify_header(ctx, name, val, res);
		g_free(val);
	}
}

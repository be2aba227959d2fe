/*
 * classify_conf.c - the classification ctx: the settings of the [classify]
 * group (levels, label and marker maps, thresholds, per-level action, body
 * action, notice filenames and retention, limits) and libmagic, read once by
 * classify_new(); the names of the actions.
 * Memory: see classify.h. Thread safety: a ctx is read-only after
 * classify_new().
 */
#include "classify_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const cls_action_names[] = { "pass", "label", "offload", "offload+password", "reject" };
static const char *const cls_body_names[] = { "keep", "offload-message", "reject" };

const char *
classify_action_name(enum classify_action a)
{
	return (unsigned)a < G_N_ELEMENTS(cls_action_names) ? cls_action_names[a] : "?";
}

const char *
classify_body_action_name(enum classify_body_action a)
{
	return (unsigned)a < G_N_ELEMENTS(cls_body_names) ? cls_body_names[a] : "?";
}

const char *
classify_reject_text(void)
{
	return "Diese Nachricht ist als Verschlusssache (VS) gekennzeichnet und darf nicht ueber "
	       "normale Internet-E-Mail versendet werden. Bitte nutzen Sie einen fuer VS zugelassenen Weg "
	       "oder wenden Sie sich an die VS-Registratur. / This message carries a German classified "
	       "information marking (VS) and must not be sent by ordinary internet mail. Please use an "
	       "approved channel or contact your classified registry.";
}

/* ---- settings ---- */

static GQuark
cls_quark(void)
{
	return g_quark_from_static_string("offload-classify");
}

static int
cls_level_lookup(const struct classify_ctx *ctx, const char *name)
{
	int i;

	if (g_ascii_strcasecmp(name, "VS") == 0)
		return CLS_VS;
	for (i = 0; i < ctx->nlevels; i++)
		if (g_ascii_strcasecmp(ctx->levels[i], name) == 0)
			return i;
	return -1;
}

static int
cls_level_slot(const struct classify_ctx *ctx, int level)
{
	return level == CLS_VS ? ctx->nlevels : level;
}

/* split "key=value" at the last '=' (keys may contain '=' only in theory) */
static int
cls_pair(const char *item, char **key, char **val)
{
	const char *eq = strrchr(item, '=');

	if (eq == NULL || eq == item || eq[1] == '\0')
		return -1;
	*key = g_strstrip(g_strndup(item, (size_t)(eq - item)));
	*val = g_strstrip(g_strdup(eq + 1));
	return 0;
}

static void
cls_map_clear(gpointer p)
{
	struct cls_map *m = p;

	g_free(m->key);
	g_free(m->shown);
}

/* cls_map_parse - "text=LEVEL, ..." into a map; allow_report: empty level ok */
static int
cls_map_parse(struct classify_ctx *ctx, const char *keyname, char **items, GArray *map, GError **err)
{
	for (; items != NULL && *items != NULL; items++) {
		char *k = NULL, *v = NULL;
		struct cls_map m;

		if (cls_pair(*items, &k, &v) < 0) {
			g_set_error(err, cls_quark(), 1, "[classify] %s: '%s': expected text=LEVEL", keyname, *items);
			return -1;
		}
		m.level = g_ascii_strcasecmp(v, "report") == 0 ? CLS_REPORT : cls_level_lookup(ctx, v);
		if (m.level == -1) {
			g_set_error(err, cls_quark(), 1, "[classify] %s: '%s': unknown level '%s'", keyname, *items, v);
			g_free(k);
			g_free(v);
			return -1;
		}
		m.shown = k;
		m.key = g_utf8_strdown(k, -1);
		g_array_append_val(map, m);
		g_free(v);
	}
	return 0;
}

int
cls_map_find(const GArray *map, const char *text)
{
	/* header values and XML come as raw bytes: g_utf8_strdown() reads past
	 * the end of invalid UTF-8 (a lead byte before the NUL) */
	char *valid = g_utf8_validate(text, -1, NULL) ? NULL : g_utf8_make_valid(text, -1);
	char *low = g_utf8_strdown(valid != NULL ? valid : text, -1);
	int level = -1;
	guint i;

	g_free(valid);
	g_strstrip(low);
	for (i = 0; i < map->len; i++)
		if (strcmp(g_array_index(map, struct cls_map, i).key, low) == 0) {
			level = g_array_index(map, struct cls_map, i).level;
			break;
		}
	g_free(low);
	return level;
}

/* cls_per_level - "LEVEL=value, ..." -> index into names, per level slot */
static int
cls_per_level(struct classify_ctx *ctx, const char *keyname, char **items, const char *const *names,
	size_t nnames, int *out, GError **err)
{
	for (; items != NULL && *items != NULL; items++) {
		char *k = NULL, *v = NULL;
		int level = -1;
		size_t i = nnames;

		if (cls_pair(*items, &k, &v) == 0) {
			level = cls_level_lookup(ctx, k);
			for (i = 0; i < nnames; i++)
				if (g_ascii_strcasecmp(names[i], v) == 0)
					break;
		}
		g_free(k);
		g_free(v);
		if (level == -1 || i == nnames) {
			g_set_error(err, cls_quark(), 1, "[classify] %s: '%s': expected LEVEL=value", keyname, *items);
			return -1;
		}
		out[cls_level_slot(ctx, level)] = (int)i;
	}
	return 0;
}

static int
cls_parse_retention(struct classify_ctx *ctx, const char *keyname, char **items, uint64_t *out,
	GError **err)
{
	for (; items != NULL && *items != NULL; items++) {
		char *k = NULL, *v = NULL;
		int level = -1;
		uint64_t secs = 0;

		if (cls_pair(*items, &k, &v) == 0)
			level = cls_level_lookup(ctx, k);
		if (level == -1 || conf_parse_duration(v, &secs) < 0) {
			g_set_error(err, cls_quark(), 1, "[classify] %s: '%s': expected LEVEL=duration", keyname,
				*items);
			g_free(k);
			g_free(v);
			return -1;
		}
		out[cls_level_slot(ctx, level)] = secs;
		g_free(k);
		g_free(v);
	}
	return 0;
}

static int
cls_parse_thresholds(struct classify_ctx *ctx, char **items, GError **err)
{
	for (; items != NULL && *items != NULL; items++) {
		char *k = NULL, *v = NULL, *end = NULL;
		int d = CLS_DET_N;
		unsigned long n = 0;

		if (cls_pair(*items, &k, &v) == 0) {
			for (d = 0; d < CLS_DET_N; d++)
				if (g_ascii_strcasecmp(k, cls_det_names[d]) == 0)
					break;
			n = strtoul(v, &end, 10);
		}
		if (d == CLS_DET_N || end == NULL || *end != '\0' || n > 1000000) {
			g_set_error(err, cls_quark(), 1, "[classify] thresholds: '%s': expected detector=number "
				"(iban, steuer-id, rvnr, kvnr, id-document, card, email, phone, dob, art9)", *items);
			g_free(k);
			g_free(v);
			return -1;
		}
		ctx->thresholds[d] = (unsigned)n;
		g_free(k);
		g_free(v);
	}
	return 0;
}

/* cls_parse_levels - the level names (upper-cased) and the identifier and Art. 9 levels */
static int
cls_parse_levels(struct classify_ctx *ctx, const struct conf *c, GError **err)
{
	int i, n;

	ctx->levels = g_strdupv(c->classify_levels);
	n = ctx->levels != NULL ? (int)g_strv_length(ctx->levels) : 0;
	if (n < 1 || n > 16) {
		g_set_error(err, cls_quark(), 1, "[classify] levels: 1 to 16 level names required");
		return -1;
	}
	for (i = 0; i < n; i++) {
		const char *p;
		char *up;

		for (p = ctx->levels[i]; *p; p++)
			if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_')
				break;
		if (*p != '\0' || ctx->levels[i][0] == '\0' || g_ascii_strcasecmp(ctx->levels[i], "VS") == 0) {
			g_set_error(err, cls_quark(), 1, "[classify] levels: '%s': ASCII letters, digits, - and _ "
				"only (VS is reserved)", ctx->levels[i]);
			return -1;
		}
		up = g_ascii_strup(ctx->levels[i], -1);
		g_free(ctx->levels[i]);
		ctx->levels[i] = up;
	}
	ctx->nlevels = n;
	ctx->identifier_level = cls_level_lookup(ctx, c->classify_identifier_level);
	ctx->art9_level = cls_level_lookup(ctx, c->classify_art9_level);
	if (ctx->identifier_level < 0 || ctx->art9_level < 0) {
		g_set_error(err, cls_quark(), 1, "[classify] identifier_level/art9_level: not one of levels");
		return -1;
	}
	return 0;
}

/* cls_parse_per_level - action, body_action, notice_filenames and retention per level slot
 * (slot nlevels = VS: reject, notice shows the names) */
static int
cls_parse_per_level(struct classify_ctx *ctx, const struct conf *c, GError **err)
{
	static const char *const shows[] = { "show", "hide" };
	static const char *const receipts[] = { "none", "first", "every" }; /* enum transfer_receipts */
	int n = ctx->nlevels, i, rc = -1;
	int *act = g_new0(int, (size_t)n + 1), *body = g_new0(int, (size_t)n + 1);
	int *notice = g_new0(int, (size_t)n + 1);

	act[n] = CLASSIFY_REJECT;
	body[n] = CLASSIFY_BODY_REJECT;
	notice[n] = 1;
	ctx->retention = g_new0(uint64_t, (size_t)n + 1);
	ctx->max_retention = g_new0(uint64_t, (size_t)n + 1);
	ctx->receipts = g_new0(int, (size_t)n + 1);
	for (i = 0; i <= n; i++)
		ctx->receipts[i] = (int)c->notify_receipts;
	if (cls_per_level(ctx, "action", c->classify_action, cls_action_names, G_N_ELEMENTS(cls_action_names),
		act, err) < 0 ||
	    cls_per_level(ctx, "body_action", c->classify_body_action, cls_body_names, G_N_ELEMENTS(cls_body_names),
		body, err) < 0 ||
	    cls_per_level(ctx, "notice_filenames", c->classify_notice_filenames, shows, G_N_ELEMENTS(shows),
		notice, err) < 0 ||
	    cls_parse_retention(ctx, "retention", c->classify_retention, ctx->retention, err) < 0 ||
	    cls_parse_retention(ctx, "max_retention", c->classify_max_retention, ctx->max_retention, err) < 0 ||
	    cls_per_level(ctx, "receipts", c->classify_receipts, receipts, G_N_ELEMENTS(receipts),
		ctx->receipts, err) < 0)
		goto out;
	ctx->action = g_new(enum classify_action, (size_t)n + 1);
	ctx->body_action = g_new(enum classify_body_action, (size_t)n + 1);
	ctx->notice_show = g_new(bool, (size_t)n + 1);
	for (i = 0; i <= n; i++) {
		ctx->action[i] = (enum classify_action)act[i];
		ctx->body_action[i] = (enum classify_body_action)body[i];
		ctx->notice_show[i] = notice[i] == 0;
	}
	rc = 0;
out:
	g_free(act);
	g_free(body);
	g_free(notice);
	return rc;
}

static int
cls_open_magic(struct classify_ctx *ctx, GError **err)
{
	ctx->magic = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_ERROR);
	if (ctx->magic == NULL || magic_load(ctx->magic, NULL) != 0) {
		g_set_error(err, cls_quark(), 1, "libmagic: %s",
			ctx->magic != NULL ? magic_error(ctx->magic) : g_strerror(errno));
		return -1;
	}
	return 0;
}

struct classify_ctx *
classify_new(const struct conf *c, GError **err)
{
	struct classify_ctx *ctx = g_new0(struct classify_ctx, 1);

	g_mime_init();
	pthread_mutex_init(&ctx->magic_mu, NULL);
	ctx->labels = g_array_new(FALSE, FALSE, sizeof(struct cls_map));
	ctx->subject_markers = g_array_new(FALSE, FALSE, sizeof(struct cls_map));
	ctx->finding_levels = g_array_new(FALSE, FALSE, sizeof(struct cls_map));
	g_array_set_clear_func(ctx->labels, cls_map_clear);
	g_array_set_clear_func(ctx->subject_markers, cls_map_clear);
	g_array_set_clear_func(ctx->finding_levels, cls_map_clear);
	ctx->max_inflated = c->classify_max_inflated;
	ctx->max_text = c->classify_max_text;
	ctx->max_ratio = c->classify_max_ratio;
	ctx->max_depth = c->classify_max_depth;
	ctx->max_entries = c->classify_max_entries;

	if (cls_parse_levels(ctx, c, err) < 0 ||
	    cls_map_parse(ctx, "labels", c->classify_labels, ctx->labels, err) < 0 ||
	    cls_map_parse(ctx, "subject_markers", c->classify_subject_markers, ctx->subject_markers, err) < 0 ||
	    cls_map_parse(ctx, "findings", c->classify_findings, ctx->finding_levels, err) < 0 ||
	    cls_parse_thresholds(ctx, c->classify_thresholds, err) < 0 ||
	    cls_parse_per_level(ctx, c, err) < 0 ||
	    cls_open_magic(ctx, err) < 0) {
		classify_free(ctx);
		return NULL;
	}
	return ctx;
}

void
classify_free(struct classify_ctx *ctx)
{
	if (ctx == NULL)
		return;
	if (ctx->magic != NULL)
		magic_close(ctx->magic);
	pthread_mutex_destroy(&ctx->magic_mu);
	g_strfreev(ctx->levels);
	g_array_free(ctx->labels, TRUE);
	g_array_free(ctx->subject_markers, TRUE);
	g_array_free(ctx->finding_levels, TRUE);
	g_free(ctx->action);
	g_free(ctx->body_action);
	g_free(ctx->notice_show);
	g_free(ctx->retention);
	g_free(ctx->max_retention);
	g_free(ctx->receipts);
	g_free(ctx);
}

size_t
classify_level_count(const struct classify_ctx *ctx)
{
	return (size_t)ctx->nlevels;
}

const char *
classify_level_name(const struct classify_ctx *ctx, int index)
{
	if (index < 0)
		index = 0;
	if (index >= ctx->nlevels)
		index = ctx->nlevels - 1;
	return ctx->levels[index];
}

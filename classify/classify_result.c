/*
 * classify_result.c - a classification result: findings and reason counts
 * added by the inputs, the detector counts weighed against the thresholds,
 * the per-class policy (level, action, body action, notice, retention, the
 * reasons text) and combining results by maximum.
 * Memory: see classify.h.
 */
#include "classify_int.h"

#include <string.h>

void
classify_result_init(struct classify_result *res)
{
	memset(res, 0, sizeof *res);
	res->level = "OFFEN";
	res->level_index = -1;
	res->notice_filenames = true;
}

static void
cls_finding_free(gpointer p)
{
	struct classify_finding *f = p;

	g_free(f->reason);
	g_free(f->where);
	g_free(f->masked);
	g_free(f);
}

void
classify_result_clear(struct classify_result *res)
{
	guint i;

	g_clear_pointer(&res->reasons, g_free);
	g_clear_pointer(&res->name, g_free);
	g_clear_pointer(&res->path, g_free);
	g_clear_pointer(&res->declared_type, g_free);
	if (res->reason_list != NULL) {
		for (i = 0; i < res->reason_list->len; i++)
			g_free(g_array_index(res->reason_list, struct classify_reason, i).name);
		g_array_free(res->reason_list, TRUE);
		res->reason_list = NULL;
	}
	g_clear_pointer(&res->findings, g_ptr_array_unref);
	g_clear_pointer(&res->parts, g_ptr_array_unref);
}

void
classify_message(bool outgoing, struct classify_result *res)
{
	classify_result_init(res);
	res->level = outgoing ? "OFFEN" : "INTERN";
	res->level_index = outgoing ? 0 : 1;
	res->reasons = g_strdup("");
	res->offload = false;
}

void
cls_add(struct classify_result *res, const char *reason, unsigned count, const char *where,
	const char *masked)
{
	guint i;

	if (res->reason_list == NULL)
		res->reason_list = g_array_new(FALSE, FALSE, sizeof(struct classify_reason));
	for (i = 0; i < res->reason_list->len; i++) {
		struct classify_reason *r = &g_array_index(res->reason_list, struct classify_reason, i);

		if (strcmp(r->name, reason) == 0) {
			r->count += count;
			break;
		}
	}
	if (i == res->reason_list->len) {
		struct classify_reason r = { g_utf8_make_valid(reason, -1), count };

		g_array_append_val(res->reason_list, r);
	}
	if (res->findings == NULL)
		res->findings = g_ptr_array_new_with_free_func(cls_finding_free);
	if (res->findings->len < CLS_MAX_FINDINGS) {
		struct classify_finding *f = g_new0(struct classify_finding, 1);

		f->reason = g_utf8_make_valid(reason, -1);
		f->where = g_utf8_make_valid(where != NULL ? where : "", -1);
		f->masked = g_utf8_make_valid(masked != NULL ? masked : "", -1);
		g_ptr_array_add(res->findings, f);
	}
}

void
cls_raise(struct classify_result *res, int level)
{
	if (level == CLS_VS)
		res->vs = true;
	else if (level > res->level_index)
		res->level_index = level;
}

static unsigned
cls_count(const struct classify_result *res, const char *name)
{
	guint i;

	if (res->reason_list == NULL)
		return 0;
	for (i = 0; i < res->reason_list->len; i++) {
		const struct classify_reason *r = &g_array_index(res->reason_list, struct classify_reason, i);

		if (strcmp(r->name, name) == 0)
			return r->count;
	}
	return 0;
}

/* cls_evaluate - detector counts against thresholds, mapped findings */
void
cls_evaluate(const struct classify_ctx *ctx, struct classify_result *res)
{
	static const enum cls_det ids[] = {
		CLS_DET_IBAN, CLS_DET_STEUER_ID, CLS_DET_RVNR, CLS_DET_KVNR, CLS_DET_ID_DOC, CLS_DET_CARD,
	};
	static const enum cls_det weak[] = { CLS_DET_EMAIL, CLS_DET_PHONE, CLS_DET_DOB };
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(ids); i++) {
		unsigned t = ctx->thresholds[ids[i]];

		if (t > 0 && cls_count(res, cls_det_names[ids[i]]) >= t)
			cls_raise(res, ctx->identifier_level);
	}
	for (i = 0; i < G_N_ELEMENTS(weak); i++) {
		unsigned t = ctx->thresholds[weak[i]];

		if (t > 0 && cls_count(res, cls_det_names[weak[i]]) >= t)
			cls_raise(res, ctx->identifier_level);
	}
	if (res->reason_list != NULL)
		for (i = 0; i < res->reason_list->len; i++) {
			const struct classify_reason *r = &g_array_index(res->reason_list, struct classify_reason, i);
			int level;

			if (strncmp(r->name, "art9-", 5) == 0)
				cls_raise(res, ctx->art9_level);
			else if (strncmp(r->name, "vs:", 3) == 0)
				res->vs = true;
			level = cls_map_find(ctx->finding_levels, r->name);
			if (level >= 0 || level == CLS_VS)
				cls_raise(res, level);
		}
}

void
cls_policy(const struct classify_ctx *ctx, struct classify_result *res, int floor)
{
	GString *s = g_string_new("");
	int slot;
	guint i;

	cls_evaluate(ctx, res);
	if (res->level_index < floor)
		res->level_index = floor;
	if (res->level_index >= ctx->nlevels)
		res->level_index = ctx->nlevels - 1;
	res->level = ctx->levels[res->level_index < 0 ? 0 : res->level_index];
	slot = res->vs ? ctx->nlevels : (res->level_index < 0 ? 0 : res->level_index);
	res->action = ctx->action[slot];
	res->body_action = ctx->body_action[slot];
	res->notice_filenames = ctx->notice_show[slot];
	res->retention = ctx->retention[slot];
	res->max_retention = ctx->max_retention[slot];
	res->receipts = ctx->receipts[slot];
	res->password = res->action == CLASSIFY_OFFLOAD_PASSWORD;
	res->offload = res->action == CLASSIFY_OFFLOAD || res->action == CLASSIFY_OFFLOAD_PASSWORD;
	if (res->reason_list != NULL)
		for (i = 0; i < res->reason_list->len; i++) {
			const struct classify_reason *r = &g_array_index(res->reason_list, struct classify_reason, i);

			if (s->len > 0)
				g_string_append_c(s, ',');
			if (strchr(r->name, '=') != NULL || strncmp(r->name, "vs:", 3) == 0)
				g_string_append(s, r->name);
			else
				g_string_append_printf(s, "%s:%u", r->name, r->count);
		}
	g_free(res->reasons);
	res->reasons = g_string_free(s, FALSE);
}

void
classify_finish(const struct classify_ctx *ctx, struct classify_result *res, bool outgoing)
{
	cls_policy(ctx, res, outgoing ? 0 : (ctx->nlevels > 1 ? 1 : 0));
}

void
classify_combine(const struct classify_ctx *ctx, struct classify_result *dst, const struct classify_result *src)
{
	guint i;

	if (src->level_index > dst->level_index)
		dst->level_index = src->level_index;
	dst->vs = dst->vs || src->vs;
	dst->decoded += src->decoded;
	if (src->reason_list != NULL)
		for (i = 0; i < src->reason_list->len; i++) {
			const struct classify_reason *r = &g_array_index(src->reason_list, struct classify_reason, i);
			guint before = dst->findings != NULL ? dst->findings->len : 0;

			cls_add(dst, r->name, r->count, NULL, NULL);
			/* the placeholder finding is replaced by the real ones below */
			if (dst->findings != NULL && dst->findings->len > before)
				g_ptr_array_remove_index(dst->findings, dst->findings->len - 1);
		}
	if (src->findings != NULL)
		for (i = 0; i < src->findings->len; i++) {
			const struct classify_finding *f = g_ptr_array_index(src->findings, i);

			if (dst->findings == NULL)
				dst->findings = g_ptr_array_new_with_free_func(cls_finding_free);
			if (dst->findings->len < CLS_MAX_FINDINGS) {
				struct classify_finding *c = g_new0(struct classify_finding, 1);

				c->reason = g_strdup(f->reason);
				c->where = g_strdup(f->where);
				c->masked = g_strdup(f->masked);
				g_ptr_array_add(dst->findings, c);
			}
		}
	cls_policy(ctx, dst, dst->level_index);
}

void
cls_result_free(gpointer p)
{
	classify_result_clear(p);
	g_free(p);
}

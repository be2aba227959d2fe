/*
 * cls_check.h - what the classification unit tests (test_classify*.c) ask of
 * a struct classify_result in their CHECKs: whether a reason is there, its
 * count, and the first finding of a reason (its where, its masked text).
 */
#ifndef OFFLOAD_CLS_CHECK_H
#define OFFLOAD_CLS_CHECK_H

#include <stdbool.h>
#include <string.h>
#include <glib.h>

#include "classify.h"

/* reason_count - the count of reason name, 0 if it is not there */
static inline unsigned
reason_count(const struct classify_result *r, const char *name)
{
	guint i;

	for (i = 0; r->reason_list != NULL && i < r->reason_list->len; i++)
		if (strcmp(g_array_index(r->reason_list, struct classify_reason, i).name, name) == 0)
			return g_array_index(r->reason_list, struct classify_reason, i).count;
	return 0;
}

static inline bool
has_reason(const struct classify_result *r, const char *name)
{
	guint i;

	for (i = 0; r->reason_list != NULL && i < r->reason_list->len; i++)
		if (strcmp(g_array_index(r->reason_list, struct classify_reason, i).name, name) == 0)
			return true;
	return false;
}

/* first_finding - the first finding of reason, NULL if none */
static inline const struct classify_finding *
first_finding(const struct classify_result *r, const char *reason)
{
	guint i;

	for (i = 0; r->findings != NULL && i < r->findings->len; i++) {
		const struct classify_finding *f = g_ptr_array_index(r->findings, i);

		if (strcmp(f->reason, reason) == 0)
			return f;
	}
	return NULL;
}

/* finding_where - the where of the first finding of reason, "" if none */
static inline const char *
finding_where(const struct classify_result *r, const char *reason)
{
	const struct classify_finding *f = first_finding(r, reason);

	return f != NULL ? f->where : "";
}

/* finding_detail - the masked text of the first finding of reason, "" if none or none kept */
static inline const char *
finding_detail(const struct classify_result *r, const char *reason)
{
	const struct classify_finding *f = first_finding(r, reason);

	return f != NULL && f->masked != NULL ? f->masked : "";
}

/* has_where - a finding of reason whose where starts with where */
static inline bool
has_where(const struct classify_result *r, const char *reason, const char *where)
{
	guint i;

	for (i = 0; r->findings != NULL && i < r->findings->len; i++) {
		const struct classify_finding *f = g_ptr_array_index(r->findings, i);

		if (strcmp(f->reason, reason) == 0 && g_str_has_prefix(f->where, where))
			return true;
	}
	return false;
}

#endif

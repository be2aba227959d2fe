/*
 * hdrops.c - the header operation list and its emulator (see hdrops.h).
 */
#include "hdrops.h"

#include <string.h>

static void
hdr_op_free(gpointer p)
{
	struct hdr_op *op = p;

	g_free(op->name);
	g_free(op->value);
	g_free(op);
}

GPtrArray *
hdrops_new(void)
{
	return g_ptr_array_new_with_free_func(hdr_op_free);
}

void
hdrops_add(GPtrArray *ops, const char *name, const char *value)
{
	struct hdr_op *op = g_new0(struct hdr_op, 1);

	op->kind = HDR_OP_ADD;
	op->name = g_strdup(name);
	op->value = g_strdup(value);
	g_ptr_array_add(ops, op);
}

void
hdrops_change(GPtrArray *ops, const char *name, int index, const char *value)
{
	struct hdr_op *op = g_new0(struct hdr_op, 1);

	op->kind = HDR_OP_CHANGE;
	op->name = g_strdup(name);
	op->index = index;
	op->value = g_strdup(value);
	g_ptr_array_add(ops, op);
}

void
hdrops_delete_all(GPtrArray *ops, const struct msg *m, const char *name)
{
	int i;

	for (i = msg_header_count(m, name); i >= 1; i--)
		hdrops_change(ops, name, i, NULL);
}

void
hdrops_apply(const GPtrArray *ops, struct msg *m)
{
	guint i, j;

	for (i = 0; i < ops->len; i++) {
		const struct hdr_op *op = g_ptr_array_index(ops, i);
		int seen = 0;

		if (op->kind == HDR_OP_ADD) {
			msg_add_header(m, op->name, op->value);
			continue;
		}
		for (j = 0; j < m->headers->len; j++) {
			struct msg_header *h = g_ptr_array_index(m->headers, j);

			if (g_ascii_strcasecmp(h->name, op->name) != 0 || ++seen != op->index)
				continue;
			if (op->value == NULL) {
				g_ptr_array_remove_index(m->headers, j);
			} else {
				g_free(h->value);
				h->value = g_strdup(op->value);
			}
			break;
		}
		/* smfi_chgheader on a missing index adds the header (sendmail(8) and
		 * Postfix both do); mirror that */
		if (j == m->headers->len && op->value != NULL)
			msg_add_header(m, op->name, op->value);
	}
}

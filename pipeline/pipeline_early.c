/*
 * pipeline_early.c - end of message and early offload (early.h): adopt the
 * leaf stored while the body arrived, or delete it.
 */
#include "pipeline_int.h"

#include "early.h"
#include "log.h"

struct transfer *
run_early_adopt(struct run *r)
{
	struct early_leaf el;

	if (r->m->early == NULL)
		return NULL;
	if (!early_take(r->m, r->rw->deadline, &el)) {
		run_early_end(r);
		return NULL;
	}
	run_early_end(r);
	if (!rewrite_adopt(r->rw, el.start, el.end, el.size)) {
		log_info("%s: the attachment stored while the body arrived is not the one stored "
			"first; transfer %s deleted", r->qid, el.t->id);
		transfer_abort(el.t);
		transfer_free(el.t);
		return NULL;
	}
	log_info("%s: attachment stored while the body arrived adopted (%llu bytes, transfer %s)",
		r->qid, (unsigned long long)el.size, el.t->id);
	return el.t;
}

void
run_early_end(struct run *r)
{
	early_free(r->m->early);
	r->m->early = NULL;
}

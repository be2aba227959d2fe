/*
 * portal_download.c - GET /d/<ticket>: one file (Range) or the ZIP of all
 * files, streamed; only verified segments are sent (see portal_http.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include <gio/gio.h>
#include <microhttpd.h>

#include "log.h"
#include "portal_int.h"
#include "portal_prefetch.h"
#include "portal_range.h"
#include "portal_zip.h"
#include "transfer.h"
#include "transfer_stream.h"

char *
portal_content_disposition(const char *name)
{
	static const char attr[] = "!#$&+-.^_`|~";
	GString *o = g_string_new("attachment; filename=\"");
	const unsigned char *s;

	for (s = (const unsigned char *)name; *s; s++) {
		if (*s >= 0x20 && *s < 0x7f && *s != '"' && *s != '\\' && *s != '%')
			g_string_append_c(o, (char)*s);
		else if (*s < 0x80 || (*s & 0xC0) == 0xC0)
			g_string_append_c(o, '_'); /* one '_' per non-ASCII character */
	}
	g_string_append(o, "\"; filename*=UTF-8''");
	for (s = (const unsigned char *)name; *s; s++) {
		if (g_ascii_isalnum(*s) || strchr(attr, *s) != NULL)
			g_string_append_c(o, (char)*s);
		else
			g_string_append_printf(o, "%%%02X", *s);
	}
	return g_string_free(o, FALSE);
}

/* ---- GET /d/<ticket> ------------------------------------------------------- */

struct dl {
	struct portal *p;
	struct portal_ticket tkt;
	char *client;
	char *name;              /* shown/audited name ("" for all) */
	uint64_t start, len, sent, skip;
	struct portal_prefetch *fs; /* the file, read ahead */
	struct portal_zip *zip;
	struct transfer *t;      /* for the ZIP: file keys */
	unsigned char *scratch;
	gboolean failed, head;
};

struct zsrc {
	struct portal_prefetch *s;
	struct dl *d;
};

static void *
zsrc_open(void *arg, uint32_t index, uint64_t size)
{
	struct dl *d = arg;
	struct transfer_file *f = g_ptr_array_index(d->t->files, index);
	struct zsrc *z = g_new0(struct zsrc, 1);

	z->d = d;
	z->s = portal_prefetch_new(d->p->st, d->t->id, index, f->key, size, 0, size);
	if (z->s == NULL) {
		g_free(z);
		return NULL;
	}
	return z;
}

static long
zsrc_read(void *h, void *buf, size_t max)
{
	struct zsrc *z = h;
	int serr;
	long n = portal_prefetch_read(z->s, buf, max, &serr);

	if (n < 0)
		log_error("portal: transfer %s: ZIP member fails (%s); aborting the download",
			z->d->t->id, n == TRANSFER_STREAM_ESTORAGE ? storage_strerror(serr) :
			envelope_strerror((int)n));
	return n;
}

static void
zsrc_close(void *h)
{
	struct zsrc *z = h;

	portal_prefetch_free(z->s);
	g_free(z);
}

static ssize_t
dl_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct dl *d = cls;
	long n;
	int serr = 0;

	(void)pos;
	if (d->failed)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (d->sent >= d->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (max > d->len - d->sent)
		max = (size_t)(d->len - d->sent);
	if (d->tkt.index != PORTAL_TICKET_ALL) {
		if (d->fs == NULL)
			d->fs = portal_prefetch_new(d->p->st, d->tkt.id, d->tkt.index, d->tkt.key,
				d->tkt.size, d->start, d->len);
		n = d->fs ? portal_prefetch_read(d->fs, buf, max, &serr) : -1;
		if (n < 0 || (n == 0 && d->sent < d->len)) {
			log_error("portal: transfer %s file %u: download aborted after %" PRIu64 " bytes: %s",
				d->tkt.id, d->tkt.index, d->sent,
				n == TRANSFER_STREAM_ESTORAGE ? storage_strerror(serr) :
				n < 0 ? envelope_strerror((int)n) : "object shorter than expected");
			d->failed = TRUE;
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
	} else {
		while (d->skip > 0) {
			size_t k = d->skip < PORTAL_BUF ? (size_t)d->skip : PORTAL_BUF;

			if (d->scratch == NULL)
				d->scratch = g_malloc(PORTAL_BUF);
			n = portal_zip_read(d->zip, d->scratch, k);
			if (n <= 0)
				break;
			d->skip -= (uint64_t)n;
		}
		n = d->skip > 0 ? -1 : portal_zip_read(d->zip, buf, max);
		if (n <= 0) {
			log_error("portal: transfer %s: ZIP download aborted after %" PRIu64 " bytes",
				d->tkt.id, d->sent);
			d->failed = TRUE;
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
	}
	d->sent += (uint64_t)n;
	return (ssize_t)n;
}

static void
dl_free(void *cls)
{
	struct dl *d = cls;
	struct audit_event ev = { 0 };
	char reasons[96];

	if (!d->head && !d->failed && d->sent == d->len)
		portal_count_download(d->p, &d->tkt, d->start, d->len,
			d->zip ? portal_zip_size(d->zip) : d->tkt.size, d->t ? d->t->files->len : 0, d->client);
	if (!d->head) {
		if (d->tkt.index == PORTAL_TICKET_ALL)
			snprintf(reasons, sizeof reasons, "index=all,range=%" PRIu64 "-%" PRIu64 "%s",
				d->start, d->start + d->len, d->failed ? ",error=verification" : "");
		else
			snprintf(reasons, sizeof reasons, "index=%u,range=%" PRIu64 "-%" PRIu64 "%s",
				d->tkt.index, d->start, d->start + d->len, d->failed ? ",error=verification" : "");
		ev.event = "download";
		ev.file = d->name;
		ev.size = (int64_t)d->sent;
		ev.action = d->sent == d->len && !d->failed ? "complete" : "partial";
		ev.reasons = reasons;
		ev.transfer = d->tkt.id;
		ev.client = d->client;
		audit_write(d->p->audit, &ev);
	}
	portal_prefetch_free(d->fs);
	portal_zip_free(d->zip);
	transfer_free(d->t);
	g_free(d->scratch);
	g_free(d->client);
	g_free(d->name);
	portal_ticket_wipe(&d->tkt);
	g_free(d);
}

/* dl_open_file - one file: its object must still be there with the size
 * the ticket promises; FALSE when answered (*rc) */
static gboolean
dl_open_file(struct dl *d, struct MHD_Connection *conn, uint64_t *size, enum MHD_Result *rc)
{
	uint64_t osize = 0;
	char key[64];
	int rr;

	snprintf(key, sizeof key, "%s/%u", d->tkt.id, d->tkt.index);
	rr = storage_stat(d->p->st, key, &osize, NULL);
	if (rr != STORAGE_OK || osize != envelope_file_size(d->tkt.size)) {
		*rc = portal_send_text(conn, rr == STORAGE_ETEMP ? 503 : 410,
			"This file is no longer available.\n");
		return FALSE;
	}
	*size = d->tkt.size;
	d->name = g_strdup(d->tkt.name);
	return TRUE;
}

/* dl_open_zip - all files: open the manifest with the ticket's TK and lay
 * out the ZIP; FALSE when answered (*rc) */
static gboolean
dl_open_zip(struct dl *d, struct MHD_Connection *conn, const GByteArray *obj, uint64_t *size,
	enum MHD_Result *rc)
{
	struct portal_zip_source src = { zsrc_open, zsrc_read, zsrc_close, d };
	GError *err = NULL;
	const char **names;
	uint64_t *sizes;
	guint i;

	d->t = transfer_open_obj(d->p->st, &d->p->dk, d->tkt.id, obj->data, obj->len, d->tkt.key,
		&err);
	if (d->t == NULL) {
		log_error("portal: %s", err ? err->message : "manifest does not open");
		g_clear_error(&err);
		*rc = portal_send_text(conn, 403, "This download link is invalid.\n");
		return FALSE;
	}
	names = g_new0(const char *, d->t->files->len + 1);
	sizes = g_new0(uint64_t, d->t->files->len + 1);
	for (i = 0; i < d->t->files->len; i++) {
		const struct transfer_file *f = g_ptr_array_index(d->t->files, i);

		names[i] = f->name;
		sizes[i] = f->size;
	}
	d->zip = portal_zip_new(names, sizes, d->t->files->len, d->t->created, &src);
	g_free(names);
	g_free(sizes);
	*size = portal_zip_size(d->zip);
	d->name = g_strdup_printf("transfer-%s.zip", d->tkt.id);
	return TRUE;
}

/* dl_open - ticket, transfer state, then the file or the ZIP; FALSE when
 * answered (*rc) */
static gboolean
dl_open(struct dl *d, struct MHD_Connection *conn, const char *text, uint64_t *size,
	enum MHD_Result *rc)
{
	struct envelope_header h;
	GByteArray *obj = NULL;
	enum tstate ts;
	gboolean ok;

	if (portal_ticket_open(&d->p->tkeys, text, portal_now(), &d->tkt) != PORTAL_TICKET_OK) {
		*rc = portal_send_text(conn, 403,
			"This download link is invalid or has expired. Open the transfer page again.\n");
		return FALSE;
	}
	if (d->tkt.part != 0) { /* a leaf of an offloaded .eml (FORMATS.md §4.5) */
		*rc = portal_letter_send_part(d->p, conn, &d->tkt, d->head);
		return FALSE;
	}
	ts = portal_transfer_state(d->p, d->tkt.id, &h,
		d->tkt.index == PORTAL_TICKET_ALL ? &obj : NULL);
	if (ts != TS_LIVE) {
		*rc = portal_send_text(conn, ts == TS_ERROR ? 503 : 410, ts == TS_ERROR ?
			"Storage temporarily unavailable.\n" : "This transfer has expired or was revoked.\n");
		return FALSE;
	}
	ok = d->tkt.index != PORTAL_TICKET_ALL ? dl_open_file(d, conn, size, rc) :
		dl_open_zip(d, conn, obj, size, rc);
	if (obj)
		g_byte_array_free(obj, TRUE);
	return ok;
}

gboolean
portal_download_range(struct MHD_Connection *conn, uint64_t size, uint64_t *start, uint64_t *len,
	unsigned *status, char cr[96], enum MHD_Result *rc)
{
	struct MHD_Response *u;

	switch (portal_range_parse(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Range"),
		size, start, len)) {
	case PORTAL_RANGE_OK:
		*status = 206;
		snprintf(cr, 96, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, *start, *start + *len - 1, size);
		return TRUE;
	case PORTAL_RANGE_UNSAT:
		u = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		snprintf(cr, 96, "bytes */%" PRIu64, size);
		portal_common_headers(u);
		portal_header(u, "Content-Range", cr);
		portal_header(u, "Content-Security-Policy", CSP_DOWNLOAD);
		portal_header(u, "Cache-Control", "no-store");
		*rc = MHD_queue_response(conn, 416, u);
		MHD_destroy_response(u);
		return FALSE;
	default:
		*status = 200;
		*start = 0;
		*len = size;
		return TRUE;
	}
}

/* dl_respond - queue the streamed response; d belongs to it from here
 * (dl_free runs when MHD is done with it) */
static enum MHD_Result
dl_respond(struct dl *d, struct MHD_Connection *conn, unsigned status, const char *cr)
{
	struct MHD_Response *r;
	enum MHD_Result rc;
	char *cd;

	d->skip = d->tkt.index == PORTAL_TICKET_ALL ? d->start : 0;
	d->client = portal_client_addr(d->p, conn);
	r = MHD_create_response_from_callback(d->len, PF_BLOCK, dl_read, d, dl_free);
	if (r == NULL) {
		d->head = TRUE;
		dl_free(d);
		return MHD_NO;
	}
	cd = portal_content_disposition(d->name);
	portal_common_headers(r);
	portal_header(r, "Content-Type", "application/octet-stream");
	portal_header(r, "Content-Disposition", cd);
	portal_header(r, "Content-Security-Policy", CSP_DOWNLOAD);
	portal_header(r, "Cache-Control", "no-store");
	portal_header(r, "Accept-Ranges", "bytes");
	if (status == 206)
		portal_header(r, "Content-Range", cr);
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	g_free(cd);
	return rc;
}

enum MHD_Result
portal_handle_download(struct portal *p, struct MHD_Connection *conn, const char *text, gboolean head)
{
	struct dl *d = g_new0(struct dl, 1);
	uint64_t size = 0;
	unsigned status = 200;
	char cr[96];
	enum MHD_Result rc;

	d->p = p;
	d->head = head;
	if (dl_open(d, conn, text, &size, &rc) &&
	    portal_download_range(conn, size, &d->start, &d->len, &status, cr, &rc))
		return dl_respond(d, conn, status, cr);
	d->head = TRUE; /* nothing sent: no audit event */
	dl_free(d);
	return rc;
}

/*
 * storage_s3_list.c - listing for the s3 backend: ListObjectsV2 page by page
 * (continuation-token) below the prefix, showing valid keys only; and
 * purge's abort_stale: ListMultipartUploads page by page, AbortMultipartUpload
 * of the uploads of valid keys initiated before the cutoff. Queries are
 * written canonical (sorted, SigV4-encoded): curl signs them as written.
 *
 * Threads: one curl handle per call; the store is only read.
 */
#include "storage_s3.h"

#include <string.h>

#include "log.h"

/* s3_list_path - bucket listing, the query canonical: sorted, encoded */
char *
s3_list_path(const struct s3_store *s, const char *token, long max_keys, const char *prefix)
{
	GString *q = g_string_new(s->bucket_path[0] != '\0' ? s->bucket_path : "/");

	g_string_append_c(q, '?');
	if (token != NULL) {
		g_string_append(q, "continuation-token=");
		s3_qenc(q, token);
		g_string_append_c(q, '&');
	}
	g_string_append_printf(q, "list-type=2&max-keys=%ld", max_keys);
	if (prefix[0] != '\0') {
		g_string_append(q, "&prefix=");
		s3_qenc(q, prefix);
	}
	return g_string_free(q, FALSE);
}

int
s3_list(void *be, const char *prefix, storage_list_fn fn, void *arg)
{
	struct s3_store *s = be;
	char *full = g_strconcat(s->prefix, prefix, NULL);
	size_t plen = strlen(s->prefix);
	char *token = NULL, *what = g_strdup_printf("list %s", prefix[0] != '\0' ? prefix : "(all)");
	CURL *h = s3_handle(what);
	struct s3_req r;
	struct s3_xml x;
	guint i;
	int rc = STORAGE_OK;

	if (h == NULL) {
		rc = STORAGE_ETEMP;
		goto out;
	}
	do {
		s3_req_init(&r, h, "GET", what, s3_list_path(s, token, s->max_keys, full));
		rc = s3_perform(s, &r);
		g_clear_pointer(&token, g_free);
		if (rc != STORAGE_OK) {
			if (rc == STORAGE_ENOENT) {
				log_error("storage s3: %s: HTTP 404", what);
				rc = STORAGE_EPERM;
			}
			s3_req_clear(&r);
			break;
		}
		if (!s3_xml_parse(r.resp, &x) || strcmp(x.root, "ListBucketResult") != 0) {
			log_error("storage s3: %s: the answer is not a ListBucketResult", what);
			rc = STORAGE_ETEMP;
		} else if (x.truncated && (x.token == NULL || x.token[0] == '\0')) {
			log_error("storage s3: %s: truncated listing without NextContinuationToken", what);
			rc = STORAGE_ETEMP;
		}
		for (i = 0; rc == STORAGE_OK && i < x.entries->len; i++) {
			const struct s3_list_entry *e = &g_array_index(x.entries, struct s3_list_entry, i);

			/* foreign objects in a shared bucket are not ours to show */
			if (strncmp(e->key, s->prefix, plen) != 0 || !storage_key_valid(e->key + plen))
				continue;
			if (fn(arg, e->key + plen, e->size, e->mtime) != 0)
				rc = STORAGE_ESTOP;
		}
		if (rc == STORAGE_OK && x.truncated)
			token = g_steal_pointer(&x.token);
		s3_xml_clear(&x);
		s3_req_clear(&r);
	} while (rc == STORAGE_OK && token != NULL);
out:
	if (h != NULL)
		curl_easy_cleanup(h);
	g_free(token);
	g_free(what);
	g_free(full);
	return rc;
}

/* s3_uploads_path - ListMultipartUploads, the query canonical (sorted by name:
 * key-marker < max-uploads < prefix < upload-id-marker < uploads) */
static char *
s3_uploads_path(const struct s3_store *s, const char *key_marker, const char *id_marker,
	const char *prefix)
{
	GString *q = g_string_new(s->bucket_path[0] != '\0' ? s->bucket_path : "/");

	g_string_append_c(q, '?');
	if (key_marker != NULL) {
		g_string_append(q, "key-marker=");
		s3_qenc(q, key_marker);
		g_string_append_c(q, '&');
	}
	g_string_append_printf(q, "max-uploads=%ld", s->max_keys);
	if (prefix[0] != '\0') {
		g_string_append(q, "&prefix=");
		s3_qenc(q, prefix);
	}
	if (key_marker != NULL && id_marker != NULL) {
		g_string_append(q, "&upload-id-marker=");
		s3_qenc(q, id_marker);
	}
	/* "uploads=" with its '=': curl 7.88 signs the query as written */
	g_string_append(q, "&uploads=");
	return g_string_free(q, FALSE);
}

/* s3_abort_one - AbortMultipartUpload; ENOENT (NoSuchUpload: done by
 * someone else meanwhile) is OK */
static int
s3_abort_one(const struct s3_store *s, CURL *h, const char *key, const char *upload_id)
{
	char *path = s3_object_path(s, key);
	char *what = g_strdup_printf("abort stale multipart upload of %s", key);
	struct s3_req r;
	int rc;

	s3_req_init(&r, h, "DELETE", what, s3_upload_query(path, upload_id, 0));
	rc = s3_perform(s, &r);
	s3_req_clear(&r);
	g_free(what);
	g_free(path);
	return rc == STORAGE_ENOENT ? STORAGE_OK : rc;
}

/* s3_stale_sweep - what abort_stale does: its cutoff, counts and first failure */
struct s3_stale_sweep {
	const struct s3_store *s;
	CURL *h;
	int64_t before;
	bool dry;
	storage_stale_fn fn;
	void *arg;
	storage_stale_keep_fn keep; /* NULL = none */
	void *keep_arg;
	int n;
	int failed;         /* first failure, a later ETEMP wins */
};

/* s3_abort_page - abort the stale uploads of valid keys on one listing page */
static void
s3_abort_page(struct s3_stale_sweep *sw, const struct s3_xml *x)
{
	size_t plen = strlen(sw->s->prefix);
	guint i;

	for (i = 0; i < x->entries->len; i++) {
		const struct s3_list_entry *e = &g_array_index(x->entries, struct s3_list_entry, i);
		int arc;

		if (e->upload_id == NULL || strncmp(e->key, sw->s->prefix, plen) != 0 ||
		    !storage_key_valid(e->key + plen) || e->mtime <= 0 || e->mtime >= sw->before ||
		    (sw->keep != NULL && sw->keep(sw->keep_arg, e->key + plen)))
			continue;
		arc = sw->dry ? STORAGE_OK : s3_abort_one(sw->s, sw->h, e->key + plen, e->upload_id);
		if (arc != STORAGE_OK) {
			sw->failed = sw->failed == STORAGE_OK || arc == STORAGE_ETEMP ? arc : sw->failed;
			continue;
		}
		sw->n++;
		if (sw->fn != NULL)
			sw->fn(sw->arg, e->key + plen, -1, e->mtime);
	}
}

/* s3_next_markers - the markers of the page after x (a truncated page with
 * entries): NextKeyMarker/NextUploadIdMarker, or the last entry when the
 * server leaves them empty; false if the listing does not advance */
static bool
s3_next_markers(const struct s3_xml *x, char **key_marker, char **id_marker)
{
	const struct s3_list_entry *last =
		&g_array_index(x->entries, struct s3_list_entry, x->entries->len - 1);
	char *km = x->next_key_marker != NULL && x->next_key_marker[0] != '\0' ?
		g_strdup(x->next_key_marker) : g_strdup(last->key);
	char *im = x->next_upload_id_marker != NULL && x->next_upload_id_marker[0] != '\0' ?
		g_strdup(x->next_upload_id_marker) : g_strdup(last->upload_id);
	bool same = *key_marker != NULL && strcmp(km, *key_marker) == 0 && *id_marker != NULL &&
		im != NULL && strcmp(im, *id_marker) == 0;

	g_free(*key_marker);
	g_free(*id_marker);
	*key_marker = km;
	*id_marker = im;
	if (same)
		log_error("storage s3: list multipart uploads: the listing does not advance");
	return !same;
}

/* s3_uploads_page - GET one ListMultipartUploads page into *x; on failure
 * (logged) *x is cleared */
static int
s3_uploads_page(const struct s3_store *s, CURL *h, const char *key_marker, const char *id_marker,
	struct s3_xml *x)
{
	struct s3_req r;
	int rc;

	memset(x, 0, sizeof *x);
	s3_req_init(&r, h, "GET", "list multipart uploads",
		s3_uploads_path(s, key_marker, id_marker, s->prefix));
	rc = s3_perform(s, &r);
	if (rc == STORAGE_ENOENT) {
		log_error("storage s3: list multipart uploads: HTTP 404 (no such bucket)");
		rc = STORAGE_EPERM;
	} else if (rc == STORAGE_OK &&
	    (!s3_xml_parse(r.resp, x) || strcmp(x->root, "ListMultipartUploadsResult") != 0)) {
		log_error("storage s3: list multipart uploads: the answer is not a "
			"ListMultipartUploadsResult");
		rc = STORAGE_ETEMP;
	}
	if (rc != STORAGE_OK)
		s3_xml_clear(x);
	s3_req_clear(&r);
	return rc;
}

/*
 * s3_abort_stale - ListMultipartUploads below the prefix, page by page
 * (key-marker/upload-id-marker; when a server leaves NextKeyMarker empty on
 * a truncated page, as Swift s3api does for one-entry pages, the last entry
 * is the marker), and AbortMultipartUpload for each upload of a valid key
 * initiated before `before`. Uploads of foreign keys in a shared bucket are
 * left alone. Aborting while paging is safe: the markers are positions.
 */
int
s3_abort_stale(void *be, int64_t before, bool dry, storage_stale_fn fn, void *arg)
{
	return s3_abort_stale_keep(be, before, dry, NULL, NULL, fn, arg);
}

/* s3_abort_stale_keep - as s3_abort_stale, but an upload whose key keep
 * says is still going on stays */
int
s3_abort_stale_keep(void *be, int64_t before, bool dry, storage_stale_keep_fn keep,
	void *keep_arg, storage_stale_fn fn, void *arg)
{
	struct s3_stale_sweep sw = { be, NULL, before, dry, fn, arg, keep, keep_arg, 0, STORAGE_OK };
	char *key_marker = NULL, *id_marker = NULL;
	struct s3_xml x;
	int pages = 0, rc = STORAGE_OK;
	bool more;

	sw.h = s3_handle("list multipart uploads");
	if (sw.h == NULL)
		return STORAGE_ETEMP;
	for (;;) {
		rc = s3_uploads_page(sw.s, sw.h, key_marker, id_marker, &x);
		if (rc != STORAGE_OK)
			break;
		s3_abort_page(&sw, &x);
		more = x.truncated && x.entries->len > 0;
		if (more && !s3_next_markers(&x, &key_marker, &id_marker))
			rc = STORAGE_ETEMP;
		s3_xml_clear(&x);
		/* a bound against a server that never stops paging */
		if (rc != STORAGE_OK || !more || ++pages > 1000000)
			break;
	}
	g_free(key_marker);
	g_free(id_marker);
	curl_easy_cleanup(sw.h);
	if (rc != STORAGE_OK)
		return rc;
	return sw.failed != STORAGE_OK ? sw.failed : sw.n;
}

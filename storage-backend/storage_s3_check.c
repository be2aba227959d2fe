/*
 * storage_s3_check.c - what `offloadctl storage check` asks an S3 store
 * beyond the storage API: the bucket's versioning state (GetBucketVersioning,
 * GET /BUCKET?versioning). With versioning enabled, a DELETE only adds a
 * delete marker: purged and revoked transfers stay retrievable as old
 * versions until a lifecycle rule expires noncurrent versions.
 *
 * Memory: *status is the caller's (g_free). Threads: one handle per call.
 */
#include "storage_s3.h"

#include <string.h>

#include "log.h"

int
storage_s3_versioning(void *be, char **status)
{
	struct s3_store once = *(struct s3_store *)be; /* shallow: one attempt only */
	struct s3_req r = { 0 };
	const char *b, *e;
	CURL *h;
	int rc;

	*status = NULL;
	h = s3_handle("versioning");
	if (h == NULL)
		return STORAGE_ETEMP;
	/* a store without the API may answer 501: no point in retrying that */
	once.attempts = 1;
	/* "versioning=" with its '=': curl 7.88 signs the query as written */
	s3_req_init(&r, h, "GET", "get bucket versioning",
		g_strconcat(once.bucket_path[0] != '\0' ? once.bucket_path : "/", "?versioning=", NULL));
	r.quiet = true;
	rc = s3_perform(&once, &r);
	if (rc == STORAGE_ENOENT) {
		storage_detail_fail("GET", 0, 0, r.status, NULL, "get bucket versioning: HTTP 404");
		rc = STORAGE_EPERM;
	}
	if (rc != STORAGE_OK)
		goto out;
	/* <VersioningConfiguration><Status>Enabled|Suspended</Status>...; no Status = never enabled */
	b = strstr(r.resp->str, "<Status>");
	e = b != NULL ? strstr(b, "</Status>") : NULL;
	*status = b != NULL && e != NULL ? g_strndup(b + 8, (gsize)(e - b - 8)) : g_strdup("");
out:
	s3_req_clear(&r);
	curl_easy_cleanup(h);
	return rc;
}

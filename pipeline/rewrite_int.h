/*
 * rewrite_int.h - what rewrite.c (MIME surgery, offloading) and rewrite_notice.c (inserting the
 * notice into the bodies) share; not for other modules.
 */
#ifndef OFFLOAD_REWRITE_INT_H
#define OFFLOAD_REWRITE_INT_H

#include <stdbool.h>
#include <gmime/gmime.h>

#include "rewrite.h"

#define REWRITE_HTML_SCAN (64 * 1024) /* look for <body> this far into the HTML */

bool rw_is_body_text(GMimeObject *obj, const char *subtype);
void rw_find_bodies(GMimeObject *obj, GMimePart **plain, GMimePart **html);
bool rw_insert_notice(const struct rewrite *rw, GMimePart *part, bool html, const char *text_utf8,
	const char *html_ascii);
GMimeObject *rw_notice_part(const char *text_utf8);
void rw_add_notice_part(struct rewrite *rw, GMimeObject *top, const char *text_utf8);
bool rw_is_signed_or_encrypted(GMimeObject *obj);
GMimeStream *rw_tmp_stream(const struct rewrite *rw);
/* rw_decoded_stream - the decoded content of a leaf, read from the spool */
GMimeStream *rw_decoded_stream(const struct rewrite *rw, GMimeObject *obj);

#endif

/*
 * classify_tnef.h - the TNEF walk (MS-OXTNEF) of classify_tnef_walk.c, shared by the classifier
 * (classify_tnef.c) and the pipeline's conversion of winmail.dat into MIME parts
 * (pipeline/tnef_convert.c). The walk keeps pointers into the input: a cls_tnef_file and the
 * body sources are valid while the input is.
 * Thread-safe (no shared state); cls_tnef_type uses the ctx's libmagic behind its mutex.
 */
#ifndef OFFLOAD_CLASSIFY_TNEF_H
#define OFFLOAD_CLASSIFY_TNEF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "classify.h"

#define CLS_TNEF_SIGNATURE 0x223E9F78u

/* one attachment of the stream */
struct cls_tnef_file {
	const unsigned char *data;   /* attAttachData, or PR_ATTACH_DATA_OBJ without its 16-byte IID */
	size_t len;                  /* 0: an empty file, or nothing attached (a link, a deleted file) */
	const char *name;            /* PR_ATTACH_LONG_FILENAME > attAttachTitle > PR_DISPLAY_NAME: UTF-8,
	                              * control characters as '_', at most 255 characters; NULL = none */
	const char *mime;            /* PR_ATTACH_MIME_TAG or NULL */
	bool message;                /* PT_OBJECT with IID_IMessage: data is the embedded message's TNEF */
	unsigned index;              /* 1-based position among the attachment groups */
};

/* what the walk found besides the attachments */
struct cls_tnef_info {
	unsigned cp;                 /* attOemCodepage (1252 when absent) */
	const unsigned char *rtf, *html, *plain, *attbody;   /* body sources */
	size_t rtflen, htmllen, plainlen, attbodylen;
	unsigned htmltype, plaintype;   /* MAPI property types of html and plain */
	char *subject, *sender_name, *sender_addr;   /* PR_SUBJECT/attSubject, PR_SENDER_*; g_malloc'ed */
	int64_t date;                /* PR_CLIENT_SUBMIT_TIME / attDateSent, Unix seconds; 0 = none */
	unsigned attrs, badsum;      /* attributes read, checksum mismatches */
	size_t offset;               /* where the walk stopped */
	const char *broken;          /* why the stream is not complete, or NULL (static text) */
};

/* a file; false stops the walk */
typedef bool (*cls_tnef_file_fn)(void *ud, const struct cls_tnef_file *f);

/*
 * cls_tnef_walk - every attachment of a TNEF stream to fn (in order, once its attribute group
 * ended: its name may follow its data), the message facts into *info (cls_tnef_info_clear
 * frees them). False when d is no TNEF stream (no signature); a stream that is truncated or has
 * trailing bytes returns true with info->broken set, after what was read before went to fn.
 */
bool cls_tnef_walk(const unsigned char *d, size_t len, cls_tnef_file_fn fn, void *ud, struct cls_tnef_info *info);
void cls_tnef_info_clear(struct cls_tnef_info *info);

/* cls_tnef_string - a PT_STRING8 (code page cp) or PT_UNICODE value as UTF-8, g_malloc'ed */
char *cls_tnef_string(unsigned type, const unsigned char *v, size_t n, unsigned cp);

/*
 * cls_tnef_body_text - the readable body: PR_BODY_HTML (*html = true; its bytes, UTF-8 when they
 * were PT_UNICODE, *charset names their character set) > PR_BODY > attBody > the text of
 * PR_RTF_COMPRESSED (plain text as UTF-8, *charset "utf-8"); at most max bytes; NULL when the
 * stream has no body
 */
GString *cls_tnef_body_text(const struct cls_tnef_info *info, size_t max, bool *html, const char **charset);

/*
 * cls_tnef_rtf - the RTF body worth keeping beside the readable text: PR_RTF_COMPRESSED
 * decompressed (MS-OXRTFCP), at most max bytes, when the stream has no PR_BODY_HTML and the RTF
 * is not one that only wraps the plain text (\fromtext in its header); NULL otherwise
 */
GByteArray *cls_tnef_rtf(const struct cls_tnef_info *info, size_t max);

/* cls_tnef_type - the libmagic MIME type of data (interned, never NULL) */
const char *cls_tnef_type(const struct classify_ctx *ctx, const unsigned char *data, size_t len);

#endif

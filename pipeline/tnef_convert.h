/*
 * tnef_convert.h - winmail.dat into ordinary MIME parts (issue 11), for mail to an external
 * recipient, before the leaves are listed (pipeline.c run_parse_classify):
 * every application/ms-tnef, application/vnd.ms-tnef or "winmail.dat" part outside signed or
 * encrypted content, also inside attached messages (n of them around it, converted while
 * n + 1 <= [classify] max_depth), is replaced, in its place, by
 *   - its readable body (PR_BODY_HTML as text/html, else PR_BODY/attBody, else the text of the
 *     compressed RTF, as text/plain; charset=utf-8), an inline part without a file name, first;
 *   - without an HTML body, a real RTF body (not a \fromtext wrapper) also whole, as the
 *     attachment "message.rtf" (text/rtf), so its formatting is not lost;
 *   - each attached file as an attachment: its name through filename_safe(), its type from
 *     PR_ATTACH_MIME_TAG, else libmagic, base64;
 *   - each embedded Outlook item (PT_OBJECT with IID_IMessage) as an attached message/rfc822
 *     "<Subject>.eml" with Subject, From and Date from its properties and its own body and
 *     files converted the same way (up to [classify] max_depth levels).
 * So the normal size and class rules apply to each file. A TNEF part is left as it is when it is
 * not a complete stream (truncated, broken, trailing bytes), holds neither a file nor a body,
 * or is larger than [classify] max_inflated decoded (256 MiB by default; the stream is decoded
 * into an unlinked file in spool_dir and mapped, not held on the heap, and each inner file is
 * written from the mapping to an unlinked file of its own).
 */
#ifndef OFFLOAD_TNEF_CONVERT_H
#define OFFLOAD_TNEF_CONVERT_H

#include <gmime/gmime.h>

#include "classify.h"
#include "conf.h"

struct tnef_convert {
	const struct conf *conf;
	const struct classify_ctx *cls;   /* libmagic */
	const char *qid;
	unsigned converted;   /* TNEF parts replaced */
	unsigned kept;        /* TNEF parts left as they were */
	char *top_ct;         /* the new top-level Content-Type when the top part was TNEF, or NULL
	                       * (an attached message's new top part carries its own headers) */
};

/* tnef_convert - convert the TNEF parts of msg (see above); the number converted */
unsigned tnef_convert(struct tnef_convert *tc, GMimeMessage *msg);

#endif

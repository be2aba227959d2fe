/*
 * rewrite_b64.h - is a base64 part decodable to its end? GMime's decoder
 * (like most) stops at the first '=' pad: base64 data after it would be
 * lost, and an attachment offloaded from it would be a truncated file
 * (issue 14, item 12). Such a part stays in the message unchanged.
 */
#ifndef OFFLOAD_REWRITE_B64_H
#define OFFLOAD_REWRITE_B64_H

#include <stdint.h>
#include <gmime/gmime.h>

/* rewrite_b64_lost - the number of base64 alphabet characters after the
 * first pad '=' of the encoded stream raw (read from its start): 0 when
 * the decoder consumes the whole part, -1 on a read error. raw is left at
 * its end. */
int64_t rewrite_b64_lost(GMimeStream *raw);

/* rewrite_b64_part_lost - the same for a GMimePart's content when it is
 * base64 encoded; 0 for any other part */
int64_t rewrite_b64_part_lost(GMimeObject *obj);

#endif

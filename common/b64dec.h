/*
 * b64dec.h - a streaming base64 decoder for MIME bodies (RFC 2045 §6.8),
 * table-driven, four characters at a time where the input allows; on x86-64
 * runs of clean characters go 32 (AVX2) or 16 (SSSE3) at a time, line breaks
 * between quanta skipped inside the run (b64dec_simd.h; the path is picked
 * once, by the CPU; the rest, and other CPUs, the scalar code). Its
 * output is byte for byte GMime's (g_mime_encoding_base64_decode_step, the
 * decoder the rest of the pipeline uses): characters outside the alphabet
 * are skipped, the first '=' ends the data (one or two bytes of a padded
 * last quantum are written), everything after it is ignored, and an
 * unpadded incomplete last quantum is dropped. Unlike GMime it tells what
 * it skipped or dropped, so a caller can refuse to treat a silently
 * shortened result as the file (b64dec_lost).
 *
 * Memory: struct b64dec is the caller's (no allocation); b64dec_step may
 * write anywhere in its B64DEC_OUTLEN room (whole vectors), not only the bytes
 * it returns. Threads: one decoder per thread; the tables are constant.
 */
#ifndef OFFLOAD_B64DEC_H
#define OFFLOAD_B64DEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* b64dec_finish flags: what the input was besides clean base64 */
enum {
	B64DEC_GARBAGE = 1,   /* bytes outside the alphabet, '=' and white space (skipped) */
	B64DEC_AFTER_END = 2, /* alphabet characters after the '=' that ended the data (lost) */
	B64DEC_LOST_TAIL = 4, /* an unpadded incomplete last quantum (its 1-3 characters dropped) */
	B64DEC_BAD_PAD = 8,   /* '=' where no pad can be (after 0 or 1 characters of a quantum) */
};

struct b64dec {
	uint32_t bits;     /* the pending sixtets */
	unsigned n;        /* how many (0-3) */
	bool ended;        /* a '=' ended the data */
	unsigned flags;    /* B64DEC_* seen so far */
	uint64_t garbage;  /* count of B64DEC_GARBAGE bytes */
	uint64_t after;    /* count of alphabet characters after the end */
};

/* the most bytes one b64dec_step of len input bytes writes */
#define B64DEC_OUTLEN(len) ((len) / 4 * 3 + 3)

void b64dec_init(struct b64dec *d);
/* b64dec_step - decode len bytes of in into out (room for B64DEC_OUTLEN(len),
 * all of which it may overwrite); returns the bytes decoded */
size_t b64dec_step(struct b64dec *d, const void *in, size_t len, void *out);
/* b64dec_finish - the end of the input: the B64DEC_* flags (0: clean) */
unsigned b64dec_finish(struct b64dec *d);
/* b64dec_lost - after b64dec_finish: would the decoded bytes be a shortened
 * form of the data (B64DEC_AFTER_END or B64DEC_LOST_TAIL)? */
bool b64dec_lost(const struct b64dec *d);

#endif

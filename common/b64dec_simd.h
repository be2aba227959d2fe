/*
 * b64dec_simd.h - the SIMD runs of the base64 decoder (common/b64dec_simd.c), internal to
 * common/b64dec.c, its tests and tools/bench_b64dec.c.
 *
 * A run decodes the longest stretch of whole quanta of alphabet characters from *p, 16
 * (SSSE3) or 32 (AVX2) characters at a time, skipping white space that comes where a quantum
 * starts (the line breaks of MIME bodies); it stops before anything else ('=', garbage, a
 * break inside a quantum) and before the last block of input or output, which the scalar
 * decoder takes. It is called only between quanta (struct b64dec n == 0) and changes no
 * decoder state, so the bytes written, the flags and the counts are the scalar decoder's.
 * After two line ends (CRLF or LF) the AVX2 run takes the length of the line between them for
 * the lines that follow and decodes whole lines while they match (each checked whole).
 * Runs store whole vectors: they write only below olim (the end of the B64DEC_OUTLEN room).
 * x86-64 with GCC or clang only; -DB64DEC_NO_SIMD (or another architecture) leaves the scalar
 * decoder alone.
 */
#ifndef OFFLOAD_B64DEC_SIMD_H
#define OFFLOAD_B64DEC_SIMD_H

/* decoder paths, each needing the CPU features of those below it */
enum { B64DEC_SCALAR = 0, B64DEC_SSSE3 = 1, B64DEC_AVX2 = 2 };

typedef void b64dec_run_fn(const unsigned char **p, const unsigned char *end, unsigned char **o,
	const unsigned char *olim);

/* b64dec_simd_best - the best path this build and CPU have */
unsigned b64dec_simd_best(void);
/* b64dec_simd_run - the run of path level (NULL for B64DEC_SCALAR or one this build lacks) */
b64dec_run_fn *b64dec_simd_run(unsigned level);
/* b64dec_simd_use - tests and benches: make every decoder take path level (at most the best;
 * b64dec.c picks the best once by itself); returns the path now taken. Not while another
 * thread decodes. */
unsigned b64dec_simd_use(unsigned level);

#endif

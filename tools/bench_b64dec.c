/*
 * bench_b64dec.c - the base64 decoder (common/b64dec.c) alone: MB megabytes of pseudo-random
 * bytes (default 200, like tools/bench.sh section 1) encoded in lines of LINE characters (default
 * 76; 0: one line) ending CRLF or LF, decoded REPS times in reads of about 256 KiB (the
 * milter's and b64stream's read size). COLD=1 in the environment: the whole encoding is made
 * first and read from memory; by default one read's worth of whole lines is made and decoded
 * over and over, from the cache, like the pipeline's reads that the kernel has just copied.
 * Prints the decode's CPU seconds (CLOCK_PROCESS_CPUTIME_ID, best of REPS) and MB/s of encoded
 * input; the encoding is made before timing. LEVEL (scalar, ssse3, avx2) forces a decoder path
 * (b64dec_simd.h), default the best the CPU has.
 * For a load-independent count run it under callgrind with
 *   --toggle-collect=b64dec_step (instructions of the decode only).
 * Build: cc -O2 -Icommon tools/bench_b64dec.c build/liboffload.a -lpthread -o build/bench_b64dec
 *   (-DBENCH_NO_LEVEL against a tree without b64dec_simd.h)
 * Usage: bench_b64dec [MB [LINE [crlf|lf [LEVEL [REPS]]]]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b64dec.h"
#ifndef BENCH_NO_LEVEL
#include "b64dec_simd.h"
#endif

#define READ (256 * 1024)

/* encode - n pseudo-random bytes (a multiple of 3) in base64 lines of line characters (0: one
 * line, and no line end when eol is 0) */
static unsigned char *
encode(size_t n, size_t line, int crlf, int eol, size_t *elen)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, col = 0, k = 0;
	unsigned char *e = malloc(n / 3 * 4 * 2 + 16);
	unsigned long long x = 88172645463325252ull;

	if (e == NULL)
		exit(1);
	for (i = 0; i < n; i += 3) {
		unsigned v, j;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v = (unsigned)x & 0xFFFFFF;
		for (j = 0; j < 4; j++)
			e[k++] = (unsigned char)a[(v >> (18 - 6 * j)) & 63];
		col += 4;
		if ((line && col >= line) || (eol && i + 3 >= n && col > 0)) {
			if (crlf)
				e[k++] = '\r';
			e[k++] = '\n';
			col = 0;
		}
	}
	*elen = k;
	return e;
}

static double
cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static const char *
level(int argc, char **argv)
{
#ifndef BENCH_NO_LEVEL
	if (argc > 4 && strcmp(argv[4], "default") != 0) {
		unsigned want = strcmp(argv[4], "avx2") == 0 ? B64DEC_AVX2 :
			strcmp(argv[4], "ssse3") == 0 ? B64DEC_SSSE3 : B64DEC_SCALAR;

		if (b64dec_simd_use(want) != want) {
			fprintf(stderr, "bench_b64dec: %s: not on this CPU\n", argv[4]);
			exit(2);
		}
		return argv[4];
	}
#endif
	(void)argc;
	(void)argv;
	return "default";
}

int
main(int argc, char **argv)
{
	size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 200;
	size_t line = argc > 2 ? strtoul(argv[2], NULL, 10) : 76, elen, i, in = 0;
	int crlf = argc > 3 ? strcmp(argv[3], "lf") != 0 : 1;
	int reps = argc > 5 ? atoi(argv[5]) : 1, r;
	int cold = getenv("COLD") != NULL && strcmp(getenv("COLD"), "1") == 0;
	const char *lvl = level(argc, argv);
	/* hot: whole lines, about READ characters (a piece of one line when LINE is 0) */
	size_t want = mb * 1000 * 1000 / 3 * 3;
	size_t per = line ? READ / (line + 1 + (size_t)crlf) * line / 4 * 3 : READ / 4 * 3;
	unsigned char *e = encode(cold ? want : per, line, crlf, cold, &elen);
	unsigned char *out = malloc(B64DEC_OUTLEN(elen));
	double best = 1e9;
	unsigned long long total = 0, sum = 0;

	for (r = 0; r < reps; r++) {
		struct b64dec d;
		double t0 = cpu_now(), t;

		b64dec_init(&d);
		total = 0;
		in = 0;
		for (i = 0; total < want && (!cold || i < elen); i += READ) {
			size_t len = cold ? (elen - i < READ ? elen - i : READ) : elen;
			size_t k = b64dec_step(&d, e + (cold ? i : 0), len, out);

			in += len;
			total += k;
			sum += k ? out[k - 1] : 0;
		}
		b64dec_finish(&d);
		t = cpu_now() - t0;
		if (t < best)
			best = t;
	}
	printf("b64dec %s %s: %zu bytes encoded (lines %zu, %s) -> %llu bytes, CPU %.3f s (best of %d), %.0f MB/s (check %llu)\n",
		lvl, cold ? "cold" : "hot", in, line, crlf ? "CRLF" : "LF", total, best, reps,
		(double)in / 1e6 / best, sum);
	free(e);
	free(out);
	return 0;
}

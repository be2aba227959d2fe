/*
 * bench_nullmilter.c - the do-nothing libmilter milter of `make bench` section 6 (issue 15):
 * the floor of "added latency through Postfix". It negotiates body chunks, receives every one
 * and discards it, and at end of message replaces the body with one line, so Postfix does the
 * same hand-over and body replacement as with offload-milter, and the milter does no work.
 * Built by tools/bench.sh: cc -O2 -o nullmilter tools/bench_nullmilter.c -lmilter -lpthread
 * Usage: nullmilter unix:/path/to/socket
 */
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static sfsistat
nm_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	(void)ctx;
	(void)chunk;
	(void)len;
	return SMFIS_CONTINUE;
}

static sfsistat
nm_eom(SMFICTX *ctx)
{
	static unsigned char line[] = "The body was replaced by the bench's null milter.\r\n";

	if (smfi_replacebody(ctx, line, (int)strlen((char *)line)) != MI_SUCCESS)
		return SMFIS_TEMPFAIL;
	return SMFIS_CONTINUE;
}

int
main(int argc, char **argv)
{
	struct smfiDesc d = {
		.xxfi_name = "bench-null",
		.xxfi_version = SMFI_VERSION,
		.xxfi_flags = SMFIF_CHGBODY,
		.xxfi_body = nm_body,
		.xxfi_eom = nm_eom,
	};

	if (argc != 2) {
		fprintf(stderr, "usage: %s unix:/path/to/socket\n", argv[0]);
		return 64;
	}
	umask(0111); /* the socket: Postfix runs as another user */
	if (smfi_setconn(argv[1]) == MI_FAILURE || smfi_register(d) == MI_FAILURE ||
	    smfi_opensocket(1) == MI_FAILURE) {
		fprintf(stderr, "%s: cannot listen on %s\n", argv[0], argv[1]);
		return 69;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 70;
}

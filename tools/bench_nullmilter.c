/*
 * bench_nullmilter.c - the do-nothing libmilter milter of `make bench` section 6 (issue 15):
 * the floor of "added latency through Postfix". It negotiates body chunks, receives every one
 * and discards it, and at end of message replaces the body with one line, so Postfix does the
 * same hand-over and body replacement as with offload-milter, and the milter does no work.
 * Built by tools/bench.sh: cc -O2 -o nullmilter tools/bench_nullmilter.c -lmilter -lpthread
 * Usage: nullmilter unix:/path/to/socket [small]
 * With "small" (tools/bench_smallmail.sh BENCH_FLOOR=1, the small-mail floor) it negotiates the
 * protocol steps offload-milter negotiates (SMFIP_NR_* for connect, MAIL, RCPT, headers and
 * body; no HELO, DATA, end of header, unknown), receives every header and body chunk, keeps
 * nothing and leaves the message unchanged: what Postfix and libmilter cost per message.
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
nm_header(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx;
	(void)name;
	(void)value;
	return SMFIS_NOREPLY;
}

static sfsistat
nm_noreply(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return SMFIS_NOREPLY;
}

static sfsistat
nm_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	(void)ctx;
	(void)host;
	(void)sa;
	return SMFIS_NOREPLY;
}

static sfsistat
nm_body_nr(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	(void)ctx;
	(void)chunk;
	(void)len;
	return SMFIS_NOREPLY;
}

static sfsistat
nm_eom_small(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
nm_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
	unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
	unsigned long *pf3)
{
	unsigned long nr = SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR |
		SMFIP_NR_BODY;

	(void)ctx;
	(void)f2;
	(void)f3;
	if ((f1 & nr) != nr)
		return SMFIS_REJECT;
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_QUARANTINE);
	*pf1 = (f1 & (SMFIP_HDR_LEADSPC | SMFIP_NOUNKNOWN | SMFIP_NOHELO | SMFIP_NODATA |
		SMFIP_NOEOH)) | nr;
	*pf2 = 0;
	*pf3 = 0;
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

	if (argc == 3 && strcmp(argv[2], "small") == 0) {
		d.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_QUARANTINE;
		d.xxfi_connect = nm_connect;
		d.xxfi_envfrom = nm_noreply;
		d.xxfi_envrcpt = nm_noreply;
		d.xxfi_header = nm_header;
		d.xxfi_body = nm_body_nr;
		d.xxfi_eom = nm_eom_small;
		d.xxfi_negotiate = nm_negotiate;
	} else if (argc != 2) {
		fprintf(stderr, "usage: %s unix:/path/to/socket [small]\n", argv[0]);
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

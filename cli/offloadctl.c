/*
 * offloadctl.c - the admin CLI: global options, then one subcommand.
 *   offloadctl [-c FILE] process|open|config [args]
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <gmime/gmime.h>

#include "cli.h"
#include "log.h"

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: offloadctl [-c FILE] COMMAND [ARGS]\n"
		"  process [--config FILE] [--sender ADDR] [--rcpt ADDR ...] [--queue-id ID] < in.eml > out.eml\n"
		"  open LINK [--config FILE] [--password-file FILE] --output DIR\n"
		"  config --defaults | config check [--config FILE] [--daemon]\n"
		"  fetch LINK [--password P | --password-file F] [--output DIR] [--ca-file F] [-v]\n"
		"  revoke ID|LINK|REVOKE-LINK [--config FILE]\n"
		"  list [--expired] [--json]\n"
		"  extend ID DURATION\n"
		"  status ID [--json]\n"
		"  purge [--grace DURATION] [--orphan-age DURATION] [--dry-run]\n"
		"  classify [--config FILE] [--explain] [--json] FILE...\n"
		"  audit verify [--key SEED] [FILE...] | rotate | seal | keygen\n"
		"  storage check [--config FILE] [--json] [--verbose]\n"
		"  escrow keygen PRIVATE PUBLIC | escrow open --key PRIVATE (ID | --from DIR) --output DIR\n"
		"  archive run [--force] | archive get ID/m|ID/e|ID/N\n"
		"  keygen [--config FILE] [--group NAME]\n"
		"  postfix-setup [--config FILE] [--postfix-dir DIR] [--apply]\n"
		"  upload LINK FILE... [--message TEXT] [--state-dir DIR] [--ca-file F] [-v]\n"
		"  upload-link --for ADDRESS [--note TEXT] [--expires DURATION]\n"
		"  recipient set ADDRESS (--password-file F | --generate) | recipient list | recipient remove ADDRESS\n"
		"Run as root, commands that write the store, spool or audit log switch to the\n"
		"owner of those directories (the package's user offload).\n");
}

int
main(int argc, char **argv)
{
	const char *conf_path = NULL;
	int i = 1;

	log_init("offloadctl", true, false);
	log_set_quiet(true);
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			conf_path = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	g_mime_init();
	{
		static const char *const writers[] = { "process", "revoke", "purge", "storage", "audit",
			"extend", "recipient", "upload-link" };
		size_t k;
		int rc;

		for (k = 0; k < G_N_ELEMENTS(writers); k++)
			if (strcmp(argv[i], writers[k]) == 0 &&
			    (rc = cli_run_as_owner(argv[i], conf_path, argc - i - 1, argv + i + 1)) != 0)
				return rc;
	}
	if (strcmp(argv[i], "process") == 0)
		return cli_process(conf_path, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "open") == 0)
		return cli_open(conf_path, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "config") == 0)
		return cli_config(conf_path, argc - i - 1, argv + i + 1);
	{
		static const struct {
			const char *name;
			int (*fn)(const char *, int, char **);
		} cmds[] = {
			{ "fetch", cli_fetch }, { "upload", cli_upload }, { "revoke", cli_revoke }, { "list", cli_list },
			{ "purge", cli_purge }, { "classify", cli_classify }, { "audit", cli_audit },
			{ "storage", cli_storage }, { "escrow", cli_escrow }, { "extend", cli_extend },
			{ "status", cli_status }, { "keygen", cli_keygen }, { "postfix-setup", cli_postfix_setup },
			{ "archive", cli_archive }, { "recipient", cli_recipient }, { "upload-link", cli_uplink },
		};
		size_t k;

		for (k = 0; k < G_N_ELEMENTS(cmds); k++)
			if (strcmp(argv[i], cmds[k].name) == 0)
				return cmds[k].fn(conf_path, argc - i - 1, argv + i + 1);
	}
	fprintf(stderr, "offloadctl: unknown command '%s'\n", argv[i]);
	usage(stderr);
	return EX_USAGE;
}

/*
 * cli.h - offloadctl subcommands. Each returns a process exit status
 * (sysexits.h: 0, 64 usage, 65 data/authentication, 66 not found, 69
 * rejected, 75 deferred/temporary, 78 configuration).
 */
#ifndef OFFLOAD_CLI_H
#define OFFLOAD_CLI_H

#include <stdint.h>
#include <json-glib/json-glib.h>

#include "conf.h"

struct audit;
struct key32;
struct storage;
struct transfer;

/* cli_remind - a live transfer expiring within [notify] reminder of which
 * nothing was downloaded: mail the sender once (cli_remind.c); true if sent */
bool cli_remind(const struct conf *c, struct storage *st, const struct key32 *dk, struct audit *au,
	const char *id, int64_t created, int64_t expires, int64_t now);

/* cli_load_conf - -c/--config FILE, or the default path if it exists,
 * else the compiled-in defaults; NULL (message printed) on error */
struct conf *cli_load_conf(const char *path);

/* cli_read_password_file - the first line of PATH (g_malloc'ed; the
 * caller wipes it); NULL with a message naming offloadctl CMD */
char *cli_read_password_file(const char *cmd, const char *path);

/* cli_open_store - load the deployment key into *dk and open the store,
 * checking its keyid object; 0, or (message printed "offloadctl CMD: ...")
 * EX_CONFIG for another deployment's store, else EX_TEMPFAIL */
int cli_open_store(const char *cmd, const struct conf *c, struct key32 *dk, struct storage **st);

/* cli_name_variant - "a.txt", 2 -> "a-2.txt" (g_malloc'ed) */
char *cli_name_variant(const char *name, int n);

/* cli_unique_path - DIR/NAME, or DIR/NAME-2, -3 ... the first that does not exist */
char *cli_unique_path(const char *dir, const char *name);

/* cli_json_text - the builder's document as compact JSON (g_malloc'ed);
 * cli_print_json prints it with a newline */
char *cli_json_text(JsonBuilder *b);
void cli_print_json(JsonBuilder *b);

/* cli_time_iso - "2024-01-31T12:00:00Z" (g_malloc'ed), NULL if out of range */
char *cli_time_iso(int64_t t);

/* cli_open_write_file - file i of t into DIR under its sanitised name, written to a
 * hidden temporary name and renamed once size and SHA-256 verified; prints
 * "PATH<TAB>SIZE<TAB>SHA256"; 0 or an exit status (message printed) (cli_open.c) */
int cli_open_write_file(struct transfer *t, unsigned i, const char *outdir);

int cli_process(const char *conf_path, int argc, char **argv); /* cli_process.c */
int cli_open(const char *conf_path, int argc, char **argv);    /* cli_open.c */
int cli_config(const char *conf_path, int argc, char **argv);  /* cli_config.c */
int cli_fetch(const char *conf_path, int argc, char **argv);    /* cli_fetch.c */
int cli_revoke(const char *conf_path, int argc, char **argv);   /* cli_revoke.c */
int cli_list(const char *conf_path, int argc, char **argv);     /* cli_purge.c */
int cli_purge(const char *conf_path, int argc, char **argv);    /* cli_purge.c */
int cli_classify(const char *conf_path, int argc, char **argv); /* cli_classify.c */
int cli_audit(const char *conf_path, int argc, char **argv);    /* cli_audit.c */
int cli_storage(const char *conf_path, int argc, char **argv);  /* cli_storage.c */
int cli_escrow(const char *conf_path, int argc, char **argv);   /* cli_escrow.c */
int cli_extend(const char *conf_path, int argc, char **argv);   /* cli_extend.c */
int cli_status(const char *conf_path, int argc, char **argv);   /* cli_extend.c */
int cli_config_check(const char *conf_path, bool daemon);       /* cli_config_check.c */
int cli_keygen(const char *conf_path, int argc, char **argv);   /* cli_keygen.c */
int cli_postfix_setup(const char *conf_path, int argc, char **argv); /* cli_postfix.c */
/* cli_run_as_owner - as root, switch to the owner of the spool/audit/store
 * directories before a command that writes them; 0, or an exit status after
 * printing one line (cli_user.c) */
int cli_run_as_owner(const char *cmd, const char *conf_path, int argc, char **argv);
int cli_archive(const char *conf_path, int argc, char **argv);  /* cli_archive.c */
int cli_upload(const char *conf_path, int argc, char **argv);   /* cli_upload.c */
int cli_recipient(const char *conf_path, int argc, char **argv); /* cli_recipient.c */
int cli_uplink(const char *conf_path, int argc, char **argv);   /* cli_uplink.c */

#endif

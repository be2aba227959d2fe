/*
 * cli.h - offloadctl subcommands. Each returns a process exit status
 * (sysexits.h: 0, 64 usage, 65 data/authentication, 66 not found, 69
 * rejected, 75 deferred/temporary, 78 configuration).
 */
#ifndef OFFLOAD_CLI_H
#define OFFLOAD_CLI_H

#include "conf.h"

/* cli_load_conf - -c/--config FILE, or the default path if it exists,
 * else the compiled-in defaults; NULL (message printed) on error */
struct conf *cli_load_conf(const char *path);

/* cli_read_password_file - the first line of PATH (g_malloc'ed; the
 * caller wipes it); NULL with a message naming offloadctl CMD */
char *cli_read_password_file(const char *cmd, const char *path);

int cli_process(const char *conf_path, int argc, char **argv);
int cli_open(const char *conf_path, int argc, char **argv);
int cli_config(const char *conf_path, int argc, char **argv);
int cli_fetch(const char *conf_path, int argc, char **argv);    /* cli_fetch.c */
int cli_revoke(const char *conf_path, int argc, char **argv);   /* cli_revoke.c */
int cli_list(const char *conf_path, int argc, char **argv);     /* cli_purge.c */
int cli_purge(const char *conf_path, int argc, char **argv);    /* cli_purge.c */
int cli_classify(const char *conf_path, int argc, char **argv); /* cli_classify.c */
int cli_audit(const char *conf_path, int argc, char **argv);    /* cli_audit.c */
int cli_storage(const char *conf_path, int argc, char **argv);  /* cli_storage.c */
int cli_config_check(const char *conf_path, bool daemon);       /* cli_config_check.c */
int cli_keygen(const char *conf_path, int argc, char **argv);   /* cli_keygen.c */
int cli_postfix_setup(const char *conf_path, int argc, char **argv); /* cli_postfix.c */
/* cli_run_as_owner - as root, switch to the owner of the spool/audit/store
 * directories before a command that writes them; 0, or an exit status after
 * printing one line (cli_user.c) */
int cli_run_as_owner(const char *cmd, const char *conf_path, int argc, char **argv);

#endif

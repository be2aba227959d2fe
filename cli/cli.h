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

int cli_process(const char *conf_path, int argc, char **argv);
int cli_open(const char *conf_path, int argc, char **argv);
int cli_config(const char *conf_path, int argc, char **argv);

#endif

/*
 * cli_common.c - helpers the offloadctl subcommands share: loading the
 * configuration, reading a password file, opening the store with the
 * deployment key, picking a free output file name, printing JSON and
 * timestamps. Every function prints its own failure message once; the
 * caller only maps the result to its exit status. Single-threaded.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "keys.h"
#include "storage.h"
#include "storage_keyid.h"

char *
cli_read_password_file(const char *cmd, const char *path)
{
	char *s = NULL;
	gsize len = 0;
	GError *err = NULL;

	if (!g_file_get_contents(path, &s, &len, &err)) {
		fprintf(stderr, "offloadctl %s: %s\n", cmd, err->message);
		g_error_free(err);
		return NULL;
	}
	s[strcspn(s, "\r\n")] = '\0';
	return s;
}

struct conf *
cli_load_conf(const char *path)
{
	GError *err = NULL;
	struct conf *c;

	if (path == NULL && g_file_test(CONF_DEFAULT_PATH, G_FILE_TEST_EXISTS))
		path = CONF_DEFAULT_PATH;
	c = conf_load(path, &err);
	if (c == NULL) {
		fprintf(stderr, "offloadctl: %s\n", err->message);
		g_error_free(err);
	}
	return c;
}

int
cli_open_store(const char *cmd, const struct conf *c, struct key32 *dk, struct storage **st)
{
	GError *err = NULL;
	int rc = 0;

	*st = NULL;
	if (keys_load(c->deployment_key_file, dk, &err) == 0)
		*st = storage_open_checked(c, dk, false, &err);
	if (*st == NULL) {
		fprintf(stderr, "offloadctl %s: %s\n", cmd, err->message);
		/* another deployment's store: the configuration must change */
		rc = g_error_matches(err, STORAGE_ERROR, STORAGE_KEYID_EMISMATCH) ? EX_CONFIG : EX_TEMPFAIL;
		g_error_free(err);
	}
	return rc;
}

char *
cli_name_variant(const char *name, int n)
{
	const char *dot = strrchr(name, '.');

	return dot && dot != name ? g_strdup_printf("%.*s-%d%s", (int)(dot - name), name, n, dot) :
				    g_strdup_printf("%s-%d", name, n);
}

char *
cli_unique_path(const char *dir, const char *name)
{
	char *path = g_build_filename(dir, name, NULL);
	int n;

	for (n = 2; g_file_test(path, G_FILE_TEST_EXISTS); n++) {
		char *alt = cli_name_variant(name, n);

		g_free(path);
		path = g_build_filename(dir, alt, NULL);
		g_free(alt);
	}
	return path;
}

char *
cli_json_text(JsonBuilder *b)
{
	JsonGenerator *g = json_generator_new();
	JsonNode *root = json_builder_get_root(b);
	char *text;

	json_generator_set_root(g, root);
	text = json_generator_to_data(g, NULL);
	json_node_unref(root);
	g_object_unref(g);
	return text;
}

void
cli_print_json(JsonBuilder *b)
{
	char *text = cli_json_text(b);

	printf("%s\n", text);
	g_free(text);
}

char *
cli_time_iso(int64_t t)
{
	GDateTime *d = g_date_time_new_from_unix_utc(t);
	char *s;

	if (d == NULL)
		return NULL;
	s = g_date_time_format(d, "%Y-%m-%dT%H:%M:%SZ");
	g_date_time_unref(d);
	return s;
}

/*
 * test_keys.c - keys.c: create, reload, key id, permissions, corrupt files.
 */
#include "keys.h"
#include "crypto.h"
#include "encoding.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static bool
is_lower_hex(const char *s, size_t len)
{
	size_t i;

	if (strlen(s) != len)
		return false;
	for (i = 0; i < len; i++)
		if (!g_ascii_isdigit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return true;
}

static void
test_create_and_reload(void)
{
	char *dir = g_build_filename(unit_tmpdir(), "etc", "offload", NULL);
	char *path = g_build_filename(dir, "deployment.key", NULL);
	struct key32 a, b;
	GError *err = NULL;
	struct stat st;
	char *text = NULL;
	unsigned char fromfile[KEYS_LEN];
	static const unsigned char zero[KEYS_LEN];

	char hex64[65] = "";

	CHECK(keys_load(path, &a, &err) == 0, "missing key file is created (%s)", err ? err->message : "ok");
	g_clear_error(&err);
	memset(&st, 0, sizeof st);
	stat(path, &st);
	CHECK((st.st_mode & 0777) == 0600, "key file mode 0600 (%o)", (unsigned)(st.st_mode & 0777));
	memset(&st, 0, sizeof st);
	stat(dir, &st);
	CHECK((st.st_mode & 0777) == 0700, "missing parent created 0700 (%o)", (unsigned)(st.st_mode & 0777));
	if (g_file_get_contents(path, &text, NULL, NULL) && strlen(text) == 65)
		memcpy(hex64, text, 64);
	CHECK(text != NULL && strlen(text) == 65 && text[64] == '\n' && is_lower_hex(hex64, 64),
		"file holds 64 hex characters and a newline");
	CHECK(enc_hex_decode(hex64, fromfile, KEYS_LEN) == 0 && memcmp(fromfile, a.key, KEYS_LEN) == 0,
		"loaded key equals the file contents");
	CHECK(memcmp(a.key, zero, KEYS_LEN) != 0, "key is not all zero");
	CHECK(is_lower_hex(a.id, KEYS_ID_LEN), "key id is 16 lower-case hex (%s)", a.id);
	{
		unsigned char in[14 + KEYS_LEN], md[32];
		char *hex;

		memcpy(in, "offload key id", 14);
		memcpy(in + 14, a.key, KEYS_LEN);
		crypto_sha256(in, sizeof in, md);
		hex = enc_hex(md, 8);
		CHECK(strcmp(hex, a.id) == 0, "key id = first 8 bytes of SHA-256(\"offload key id\" || key)");
		g_free(hex);
	}

	CHECK(keys_load(path, &b, &err) == 0, "existing key file loads");
	g_clear_error(&err);
	CHECK(memcmp(a.key, b.key, KEYS_LEN) == 0 && strcmp(a.id, b.id) == 0, "reload gives same key and id");

	keys_wipe(&b);
	CHECK(memcmp(b.key, zero, KEYS_LEN) == 0 && b.id[0] == '\0', "keys_wipe clears key and id");
	keys_wipe(NULL);

	/* a second, independent key file gets a different key */
	{
		char *p2 = g_build_filename(unit_tmpdir(), "ticket.key", NULL);
		struct key32 c;

		CHECK(keys_load(p2, &c, NULL) == 0 && memcmp(c.key, a.key, KEYS_LEN) != 0 &&
			strcmp(c.id, a.id) != 0, "two key files differ");
		g_free(p2);
	}

	/* upper-case hex and a missing newline are accepted */
	{
		char *p3 = g_build_filename(unit_tmpdir(), "upper.key", NULL);
		char *up = g_ascii_strup(hex64, -1);
		struct key32 c;

		g_file_set_contents(p3, up, -1, NULL);
		chmod(p3, 0600);
		CHECK(keys_load(p3, &c, NULL) == 0 && memcmp(c.key, a.key, KEYS_LEN) == 0,
			"upper-case hex without newline accepted");
		g_free(p3);
		g_free(up);
	}
	g_free(text);
	g_free(path);
	g_free(dir);
}

static void
test_corrupt(void)
{
	static const char *const bad[] = {
		"",
		"abcd\n",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n",   /* 63 */
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0\n", /* 65 */
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg\n", /* non-hex */
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n\n",
		" 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(bad); i++) {
		char *path = g_strdup_printf("%s/bad%zu.key", unit_tmpdir(), i);
		struct key32 k;
		GError *err = NULL;
		char *before = NULL;
		int rc;

		g_file_set_contents(path, bad[i], -1, NULL);
		chmod(path, 0600);
		rc = keys_load(path, &k, &err);
		CHECK(rc == -1 && err != NULL && strstr(err->message, path) != NULL,
			"corrupt key file %zu rejected naming the file: %s", i, err ? err->message : "(accepted)");
		g_file_get_contents(path, &before, NULL, NULL);
		CHECK(before != NULL && strcmp(before, bad[i]) == 0, "corrupt key file %zu left untouched", i);
		g_free(before);
		g_clear_error(&err);
		g_free(path);
	}
	{
		struct key32 k;
		GError *err = NULL;

		CHECK(keys_load(unit_tmpdir(), &k, &err) == -1 && err != NULL, "a directory is rejected");
		g_clear_error(&err);
		CHECK(keys_load("", &k, &err) == -1 && err != NULL, "empty path rejected");
		g_clear_error(&err);
	}
}

/* test_warning - a world-readable key file still loads but logs a warning */
static void
test_warning(void)
{
	char *path = g_build_filename(unit_tmpdir(), "open.key", NULL);
	char *log = g_build_filename(unit_tmpdir(), "stderr.txt", NULL);
	char *out = NULL;
	pid_t pid;
	int status = -1;

	g_file_set_contents(path,
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", -1, NULL);
	chmod(path, 0644);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct key32 k;

		if (freopen(log, "w", stderr) == NULL)
			_exit(3);
		int rc = keys_load(path, &k, NULL) == 0 && k.key[1] == 0x11 ? 0 : 1;

		fflush(stderr);
		_exit(rc);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "world-readable key file loads");
	g_file_get_contents(log, &out, NULL, NULL);
	CHECK(out != NULL && strstr(out, "warning") != NULL && strstr(out, path) != NULL &&
		strstr(out, "0644") != NULL, "and logs a warning naming file and mode: %s", out ? out : "");
	g_free(out);
	g_free(log);
	g_free(path);
}

/* test_race - several processes creating the same missing key agree on it */
static void
test_race(void)
{
	char *path = g_build_filename(unit_tmpdir(), "race", "shared.key", NULL);
	char *ids[6], *first = NULL;
	pid_t pids[6];
	int i, ok = 0, same = 1;

	fflush(stdout);
	for (i = 0; i < 6; i++) {
		ids[i] = g_strdup_printf("%s/id%d", unit_tmpdir(), i);
		pids[i] = fork();
		if (pids[i] == 0) {
			struct key32 k;

			if (keys_load(path, &k, NULL) != 0)
				_exit(1);
			_exit(g_file_set_contents(ids[i], k.id, -1, NULL) ? 0 : 1);
		}
	}
	for (i = 0; i < 6; i++) {
		int status;

		waitpid(pids[i], &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			ok++;
	}
	g_file_get_contents(ids[0], &first, NULL, NULL);
	for (i = 0; i < 6; i++) {
		char *id = NULL;

		g_file_get_contents(ids[i], &id, NULL, NULL);
		if (id == NULL || first == NULL || strcmp(id, first) != 0 || strlen(id) != KEYS_ID_LEN)
			same = 0;
		g_free(id);
		g_free(ids[i]);
	}
	CHECK(ok == 6 && same, "6 processes creating one key file concurrently all load the same key");
	g_free(first);
	g_free(path);
}

int
main(void)
{
	test_create_and_reload();
	test_corrupt();
	test_warning();
	test_race();
	return unit_done();
}

/*
 * archive_hook.c - the enqueue side of the DMS hook (archive_hook.h): the
 * JSON description of a committed transfer and its spool entry. Nothing here
 * runs the hook (archive_hook_run.c does), so a commit never waits for the
 * archive. The description holds no secret (no link secret, password or
 * key): only metadata and where the encrypted objects and the escrow object
 * are; the archive opens them with its escrow private key.
 * Memory: everything g_malloc'ed and freed before return.
 * Thread safety: no shared state.
 */
#include "archive_hook.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "fdio.h"
#include "log.h"
#include "transfer.h"
#include "transfer_escrow.h"

bool
archive_hook_enabled(const struct conf *c)
{
	return c->archive_command != NULL && c->archive_command[0] != '\0';
}

char *
archive_hook_spool_dir(const struct conf *c)
{
	if (c->archive_spool_dir != NULL && c->archive_spool_dir[0] != '\0')
		return g_strdup(c->archive_spool_dir);
	return g_build_filename(c->spool_dir, "archive", NULL);
}

/* hook_time - "2024-01-31T12:00:00Z" */
static void
hook_time(JsonBuilder *b, const char *name, int64_t t)
{
	GDateTime *d = g_date_time_new_from_unix_utc(t);
	char *s = d != NULL ? g_date_time_format(d, "%Y-%m-%dT%H:%M:%SZ") : NULL;

	json_builder_set_member_name(b, name);
	if (s != NULL)
		json_builder_add_string_value(b, s);
	else
		json_builder_add_null_value(b);
	g_free(s);
	if (d != NULL)
		g_date_time_unref(d);
}

static void
hook_str(JsonBuilder *b, const char *name, const char *v)
{
	json_builder_set_member_name(b, name);
	if (v != NULL)
		json_builder_add_string_value(b, v);
	else
		json_builder_add_null_value(b);
}

/* hook_object - {"key": KEY, "path": FILE (file backend only)}: the file backend
 * stores key k at <path>/<first two characters of k>/<k> (FORMATS.md §3.4) */
static void
hook_object(JsonBuilder *b, const struct conf *c, const char *key)
{
	char *path = NULL;

	json_builder_begin_object(b);
	hook_str(b, "key", key);
	if (strcmp(c->backend, "file") == 0) {
		path = g_strdup_printf("%s/%.2s/%s", c->path, key, key);
		hook_str(b, "path", path);
	}
	json_builder_end_object(b);
	g_free(path);
}

/* hook_store - where the objects are and how the hook gets them */
static void
hook_store(JsonBuilder *b, const struct conf *c)
{
	bool file = strcmp(c->backend, "file") == 0;

	json_builder_set_member_name(b, "store");
	json_builder_begin_object(b);
	hook_str(b, "backend", c->backend);
	if (file)
		hook_str(b, "path", c->path);
	if (strcmp(c->backend, "s3") == 0) {
		hook_str(b, "endpoint", c->endpoint);
		hook_str(b, "bucket", c->bucket);
		hook_str(b, "prefix", c->prefix);
	} else if (strcmp(c->backend, "webdav") == 0) {
		hook_str(b, "url", c->url);
	}
	/* file: read "path" directly; others: `offloadctl archive get KEY` prints the object */
	hook_str(b, "fetch", file ? "path" : "offloadctl archive get");
	json_builder_end_object(b);
}

static bool
hook_has_key(const struct transfer *t, const char *key)
{
	guint i;

	for (i = 0; i < t->committed->len; i++)
		if (strcmp(g_ptr_array_index(t->committed, i), key) == 0)
			return true;
	return false;
}

static void
hook_files(JsonBuilder *b, const struct conf *c, const struct transfer *t)
{
	guint i;

	json_builder_set_member_name(b, "files");
	json_builder_begin_array(b);
	for (i = 0; i < t->files->len; i++) {
		const struct transfer_file *f = g_ptr_array_index(t->files, i);
		char key[ENVELOPE_ID_TEXT_LEN + 16];

		snprintf(key, sizeof key, "%s/%u", t->id, f->index);
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "index");
		json_builder_add_int_value(b, f->index);
		hook_str(b, "name", f->name);
		hook_str(b, "type", f->type);
		json_builder_set_member_name(b, "size");
		json_builder_add_int_value(b, (gint64)f->size);
		hook_str(b, "sha256", f->sha256);
		json_builder_set_member_name(b, "object");
		hook_object(b, c, key);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
}

/* hook_objects - the manifest and the escrow object (null: not escrowed) */
static void
hook_objects(JsonBuilder *b, const struct conf *c, const struct transfer *t)
{
	char key[ENVELOPE_ID_TEXT_LEN + 4];

	snprintf(key, sizeof key, "%s/m", t->id);
	json_builder_set_member_name(b, "manifest");
	hook_object(b, c, key);
	snprintf(key, sizeof key, "%s/e", t->id);
	json_builder_set_member_name(b, "escrow");
	if (hook_has_key(t, key)) {
		hook_object(b, c, key);
		hook_str(b, "escrow_key_id", t->escrow != NULL ? t->escrow->id : NULL);
	} else {
		json_builder_add_null_value(b);
		hook_str(b, "escrow_key_id", NULL);
	}
}

char *
archive_hook_describe(const struct conf *c, const struct transfer *t,
	const struct archive_hook_meta *m)
{
	JsonBuilder *b = json_builder_new();
	JsonGenerator *g = json_generator_new();
	JsonNode *root;
	char *text;
	guint i;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "version");
	json_builder_add_int_value(b, 1);
	hook_str(b, "id", t->id);
	hook_str(b, "direction", m->direction);
	hook_str(b, "queue_id", m->queue_id);
	hook_str(b, "reply_to", m->reply_to);
	hook_str(b, "message_id", t->message_id);
	hook_str(b, "sender", t->sender);
	json_builder_set_member_name(b, "recipients");
	json_builder_begin_array(b);
	for (i = 0; i < t->rcpts->len; i++)
		json_builder_add_string_value(b, g_ptr_array_index(t->rcpts, i));
	json_builder_end_array(b);
	hook_str(b, "subject", t->subject);
	hook_str(b, "class", t->class_);
	hook_time(b, "created", t->created);
	hook_time(b, "expires", t->expires);
	hook_files(b, c, t);
	hook_objects(b, c, t);
	hook_store(b, c);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(g, root);
	json_generator_set_pretty(g, TRUE);
	text = json_generator_to_data(g, NULL);
	json_node_unref(root);
	g_object_unref(g);
	g_object_unref(b);
	return text;
}

/* hook_write - DIR/.ID.tmp written, fsynced, renamed to DIR/ID, DIR fsynced; 0660 in a 0770
 * directory: the runner (offload) reads what offload-upload wrote, both in group offload */
static int
hook_write(const char *dir, const char *id, const char *text)
{
	char *tmp = g_strdup_printf("%s/.%s.tmp", dir, id);
	char *final = g_strdup_printf("%s/%s", dir, id);
	int fd = -1, rc = -1;

	if (g_mkdir_with_parents(dir, 0770) != 0) {
		log_error("archive hook: cannot create spool directory %s: %s", dir, g_strerror(errno));
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0660);
	if (fd < 0 || fdio_write_all(fd, text, strlen(text)) != 0 || fsync(fd) != 0) {
		log_error("archive hook: cannot write %s: %s", tmp, g_strerror(errno));
		goto out;
	}
	if (close(fd) != 0 || rename(tmp, final) != 0) {
		fd = -1;
		log_error("archive hook: cannot store %s: %s", final, g_strerror(errno));
		goto out;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* the rename survives a crash */
	if (fd >= 0 && fsync(fd) != 0 && errno != EINVAL)
		log_warning("archive hook: fsync %s: %s", dir, g_strerror(errno));
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		g_unlink(tmp);
	g_free(tmp);
	g_free(final);
	return rc;
}

int
archive_hook_enqueue(const struct conf *c, const struct transfer *t,
	const struct archive_hook_meta *m)
{
	char *dir, *text;
	int rc;

	if (!archive_hook_enabled(c))
		return 0;
	dir = archive_hook_spool_dir(c);
	text = archive_hook_describe(c, t, m);
	rc = hook_write(dir, t->id, text);
	if (rc != 0)
		log_error("archive hook: transfer %s is not queued for the archive", t->id);
	g_free(text);
	g_free(dir);
	return rc;
}

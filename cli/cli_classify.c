/*
 * cli_classify.c - `offloadctl classify [--config FILE] [--explain] [--json]
 * FILE...`: per file (and per part of an .eml) the true type, class,
 * reasons with counts and the policy action; --explain lists where each
 * finding was with the value masked; --json writes one object per input line
 * (NDJSON). Memory: per file, freed before the next. Single-threaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "classify.h"
#include "cli.h"

static void
cli_cls_json_result(JsonBuilder *b, const struct classify_result *r, bool explain)
{
	guint i;

	if (r->name != NULL) {
		json_builder_set_member_name(b, "name");
		json_builder_add_string_value(b, r->name);
	}
	if (r->path != NULL) {
		json_builder_set_member_name(b, "path");
		json_builder_add_string_value(b, r->path);
	}
	json_builder_set_member_name(b, "type");
	json_builder_add_string_value(b, r->true_type != NULL ? r->true_type : "");
	if (r->declared_type != NULL) {
		json_builder_set_member_name(b, "declared_type");
		json_builder_add_string_value(b, r->declared_type);
	}
	json_builder_set_member_name(b, "class");   /* a VS marking is its own rule above the levels */
	json_builder_add_string_value(b, r->vs ? "VS" : r->level);
	json_builder_set_member_name(b, "vs");
	json_builder_add_boolean_value(b, r->vs);
	json_builder_set_member_name(b, "reasons");
	json_builder_begin_object(b);
	if (r->reason_list != NULL)
		for (i = 0; i < r->reason_list->len; i++) {
			const struct classify_reason *x = &g_array_index(r->reason_list, struct classify_reason, i);

			json_builder_set_member_name(b, x->name);
			json_builder_add_int_value(b, x->count);
		}
	json_builder_end_object(b);
	json_builder_set_member_name(b, "reasons_text");
	json_builder_add_string_value(b, r->reasons != NULL ? r->reasons : "");
	json_builder_set_member_name(b, "action");
	json_builder_add_string_value(b, classify_action_name(r->action));
	json_builder_set_member_name(b, "body_action");
	json_builder_add_string_value(b, classify_body_action_name(r->body_action));
	json_builder_set_member_name(b, "notice_filenames");
	json_builder_add_string_value(b, r->notice_filenames ? "show" : "hide");
	if (explain) {
		json_builder_set_member_name(b, "findings");
		json_builder_begin_array(b);
		for (i = 0; r->findings != NULL && i < r->findings->len; i++) {
			const struct classify_finding *f = g_ptr_array_index(r->findings, i);

			json_builder_begin_object(b);
			json_builder_set_member_name(b, "reason");
			json_builder_add_string_value(b, f->reason);
			json_builder_set_member_name(b, "where");
			json_builder_add_string_value(b, f->where);
			json_builder_set_member_name(b, "value");
			json_builder_add_string_value(b, f->masked);
			json_builder_end_object(b);
		}
		json_builder_end_array(b);
	}
}

static void
cli_cls_json(const char *file, const struct classify_result *r, bool explain)
{
	JsonBuilder *b = json_builder_new();
	char *vfile = g_utf8_make_valid(file, -1);
	guint i;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "file");
	json_builder_add_string_value(b, vfile);
	g_free(vfile);
	cli_cls_json_result(b, r, explain);
	json_builder_set_member_name(b, "parts");
	json_builder_begin_array(b);
	for (i = 0; r->parts != NULL && i < r->parts->len; i++) {
		json_builder_begin_object(b);
		cli_cls_json_result(b, g_ptr_array_index(r->parts, i), explain);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	cli_print_json(b);
	g_object_unref(b);
}

static void
cli_cls_text_one(const char *indent, const char *label, const struct classify_result *r, bool explain)
{
	guint i;

	printf("%s%s: type=%s class=%s action=%s body_action=%s notice_filenames=%s reasons=%s\n", indent, label,
		r->true_type != NULL ? r->true_type : "-", r->vs ? "VS" : r->level,
		classify_action_name(r->action), classify_body_action_name(r->body_action),
		r->notice_filenames ? "show" : "hide", r->reasons != NULL && r->reasons[0] ? r->reasons : "-");
	if (!explain || r->findings == NULL)
		return;
	for (i = 0; i < r->findings->len; i++) {
		const struct classify_finding *f = g_ptr_array_index(r->findings, i);

		printf("%s    %-18s %s  %s\n", indent, f->reason, f->where, f->masked);
	}
}

static void
cli_cls_text(const char *file, const struct classify_result *r, bool explain)
{
	guint i;

	cli_cls_text_one("", file, r, explain);
	for (i = 0; r->parts != NULL && i < r->parts->len; i++) {
		const struct classify_result *p = g_ptr_array_index(r->parts, i);

		cli_cls_text_one("  ", p->name != NULL ? p->name : "part", p, explain);
	}
}

static bool
cli_cls_is_eml(const char *path, const char *head, size_t n)
{
	static const char *const starts[] = {
		"From ", "Return-Path:", "Received:", "Date:", "From:", "Message-ID:", "MIME-Version:",
		"Subject:", "To:", "Delivered-To:", "X-", "Content-Type:", NULL,
	};
	size_t i;

	if (g_str_has_suffix(path, ".eml") || g_str_has_suffix(path, ".msg.txt"))
		return true;
	for (i = 0; starts[i] != NULL; i++)
		if (n >= strlen(starts[i]) && g_ascii_strncasecmp(head, starts[i], strlen(starts[i])) == 0)
			return true;
	return false;
}

static int
cli_cls_file(const struct classify_ctx *ctx, const char *path, bool explain, bool json)
{
	struct classify_result r;
	char head[64] = "";
	ssize_t hn;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;

	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		fprintf(stderr, "offloadctl classify: %s: %s\n", path, fd < 0 ? g_strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return EX_NOINPUT;
	}
	classify_result_init(&r);
	hn = pread(fd, head, sizeof head - 1, 0);
	if (hn > 0 && cli_cls_is_eml(path, head, (size_t)hn)) {
		GMimeStream *st = g_mime_stream_fs_new(fd);
		GMimeParser *parser = g_mime_parser_new_with_stream(st);
		GMimeMessage *msg;

		fd = -1;   /* owned by the stream */
		g_mime_parser_set_format(parser, GMIME_FORMAT_MBOX);
		if (strncmp(head, "From ", 5) != 0)
			g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
		msg = g_mime_parser_construct_message(parser, NULL);
		if (msg != NULL) {
			r.name = g_strdup(path);
			classify_message_gmime(ctx, msg, true, &r);
			g_object_unref(msg);
		}
		g_object_unref(parser);
		g_object_unref(st);
		if (msg == NULL) {
			/* not a message after all: classify the bytes */
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				fprintf(stderr, "offloadctl classify: %s: %s\n", path, g_strerror(errno));
				classify_result_clear(&r);
				return EX_NOINPUT;
			}
		}
	}
	if (fd >= 0) {
		const char *base = strrchr(path, '/');

		classify_fd(ctx, base != NULL ? base + 1 : path, NULL, fd, &r);
		classify_finish(ctx, &r, true);
		close(fd);
	}
	if (json)
		cli_cls_json(path, &r, explain);
	else
		cli_cls_text(path, &r, explain);
	classify_result_clear(&r);
	return 0;
}

int
cli_classify(const char *conf_path, int argc, char **argv)
{
	bool explain = false, json = false;
	struct conf *c = NULL;
	struct classify_ctx *ctx = NULL;
	GError *err = NULL;
	int i, first = -1, rc = 0;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			conf_path = argv[++i];
		} else if (strcmp(argv[i], "--explain") == 0) {
			explain = true;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--") == 0) {
			first = i + 1;
			break;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "usage: offloadctl classify [--config FILE] [--explain] [--json] FILE...\n");
			return EX_USAGE;
		} else {
			first = i;
			break;
		}
	}
	if (first < 0 || first >= argc) {
		fprintf(stderr, "usage: offloadctl classify [--config FILE] [--explain] [--json] FILE...\n");
		return EX_USAGE;
	}
	c = cli_load_conf(conf_path);
	if (c == NULL)
		return EX_CONFIG;
	ctx = classify_new(c, &err);
	if (ctx == NULL) {
		fprintf(stderr, "offloadctl classify: %s\n", err->message);
		g_error_free(err);
		conf_free(c);
		return EX_CONFIG;
	}
	for (i = first; i < argc; i++) {
		int r = cli_cls_file(ctx, argv[i], explain, json);

		if (r != 0)
			rc = r;
	}
	fflush(stdout);
	classify_free(ctx);
	conf_free(c);
	return rc;
}

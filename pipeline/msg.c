/*
 * msg.c - message intake shared by the milter callbacks and offloadctl.
 * Owns the spool; headers are kept in memory (bounded by Postfix's
 * header_size_limit / our own reading cap). The spooled message stays in
 * memory up to MSG_MEM_MAX bytes and moves to a private file in spool_dir
 * the moment it grows past that: ordinary mail costs no file create,
 * write, reopen and unlink (DECISIONS.md §12), large mail is on disk as before.
 */
#include "msg.h"
#include "early.h"
#include "spool_tmp.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <gio/gio.h>

#include "log.h"

#define MSG_READ_BLOCK (64 * 1024) /* body bytes read from a stream at once */


static void
msg_header_free(gpointer p)
{
	struct msg_header *h = p;

	g_free(h->name);
	g_free(h->value);
	g_free(h);
}

struct msg *
msg_new(const char *spool_dir, uint64_t max_size, GError **err)
{
	struct msg *m = g_new0(struct msg, 1);

	(void)err; /* nothing can fail before the first MSG_MEM_MAX bytes */
	m->headers = g_ptr_array_new_with_free_func(msg_header_free);
	m->env.rcpts = g_ptr_array_new_with_free_func(g_free);
	m->max_size = max_size;
	m->spool_dir = g_strdup(spool_dir);
	m->mem = g_byte_array_new();
	return m;
}

/* msg_spill - move the in-memory spool to a new private file */
static int
msg_spill(struct msg *m)
{
	char *path = NULL;
	int fd = spool_tmp_open(m->spool_dir, "msg", &path);
	FILE *f = fd >= 0 ? fdopen(fd, "w+") : NULL;

	if (f == NULL || (m->mem->len && fwrite(m->mem->data, 1, m->mem->len, f) != m->mem->len)) {
		log_error("%s: cannot spool to a file in %s: %s", m->env.queue_id ? m->env.queue_id : "-",
			m->spool_dir, g_strerror(errno));
		if (f != NULL)
			fclose(f);
		else if (fd >= 0)
			close(fd);
		if (fd >= 0)
			spool_tmp_unlink(path);
		g_free(path);
		return -1;
	}
	m->spool_path = path;
	m->spool = f;
	g_byte_array_unref(m->mem);
	m->mem = NULL;
	return 0;
}

const char *
msg_spool_file(struct msg *m)
{
	if (m->mem != NULL && msg_spill(m) < 0)
		return NULL;
	if (m->spool && fflush(m->spool) != 0) {
		log_error("%s: spool flush %s: %s", m->env.queue_id ? m->env.queue_id : "-",
			m->spool_path, g_strerror(errno));
		return NULL;
	}
	return m->spool_path;
}

const GByteArray *
msg_spool_mem(const struct msg *m)
{
	return m->mem;
}

void
msg_env_clear(struct msg_env *e)
{
	g_clear_pointer(&e->queue_id, g_free);
	g_clear_pointer(&e->client_addr, g_free);
	g_clear_pointer(&e->client_name, g_free);
	g_clear_pointer(&e->auth_authen, g_free);
	g_clear_pointer(&e->daemon_name, g_free);
	g_clear_pointer(&e->sender, g_free);
	if (e->rcpts)
		g_ptr_array_set_size(e->rcpts, 0);
}

void
msg_free(struct msg *m)
{
	if (m == NULL)
		return;
	early_free(m->early); /* before the spool goes: deletes what it stored */
	if (m->spool_path)
		spool_tmp_unlink(m->spool_path);
	if (m->spool)
		fclose(m->spool); /* a nameless spool file goes with it */
	g_free(m->spool_path);
	g_free(m->spool_dir);
	if (m->mem)
		g_byte_array_unref(m->mem);
	msg_env_clear(&m->env);
	if (m->env.rcpts)
		g_ptr_array_free(m->env.rcpts, TRUE);
	g_ptr_array_free(m->headers, TRUE);
	g_free(m);
}

static char *
msg_strip_angle(const char *addr)
{
	size_t n;

	while (*addr == ' ' || *addr == '<')
		addr++;
	n = strlen(addr);
	while (n > 0 && (addr[n - 1] == '>' || addr[n - 1] == ' '))
		n--;
	return g_strndup(addr, n);
}

void
msg_add_rcpt(struct msg *m, const char *addr)
{
	g_ptr_array_add(m->env.rcpts, msg_strip_angle(addr));
}

/* crlf_normalise - every line end becomes CRLF (lone LF or lone CR) */
static char *
crlf_normalise(const char *s)
{
	GString *out = g_string_sized_new(strlen(s) + 8);

	for (; *s; s++) {
		if (*s == '\r') {
			g_string_append(out, "\r\n");
			if (s[1] == '\n')
				s++;
		} else if (*s == '\n') {
			g_string_append(out, "\r\n");
		} else {
			g_string_append_c(out, *s);
		}
	}
	return g_string_free(out, FALSE);
}

void
msg_add_header(struct msg *m, const char *name, const char *value)
{
	struct msg_header *h = g_new0(struct msg_header, 1);

	h->name = g_strdup(name);
	h->value = crlf_normalise(value ? value : "");
	g_ptr_array_add(m->headers, h);
}

static int
msg_spool_write(struct msg *m, const void *buf, size_t len)
{
	if (m->too_big)
		return 0;
	if (m->max_size && m->size + len > m->max_size) {
		m->too_big = true;
		return 0;
	}
	if (m->mem != NULL && m->mem->len + len <= MSG_MEM_MAX) {
		g_byte_array_append(m->mem, buf, (guint)len);
		m->size += len;
		return 0;
	}
	if (m->mem != NULL && msg_spill(m) < 0)
		return -1;
	if (len && fwrite(buf, 1, len, m->spool) != len) {
		log_error("%s: spool write %s: %s", m->env.queue_id ? m->env.queue_id : "-",
			m->spool_path, g_strerror(errno));
		return -1;
	}
	m->size += len;
	return 0;
}

static int
msg_write_headers(struct msg *m)
{
	guint i;

	m->body_started = true;
	for (i = 0; i < m->headers->len; i++) {
		struct msg_header *h = g_ptr_array_index(m->headers, i);

		if (msg_spool_write(m, h->name, strlen(h->name)) < 0 ||
		    msg_spool_write(m, ":", 1) < 0 ||
		    msg_spool_write(m, h->value, strlen(h->value)) < 0 ||
		    msg_spool_write(m, "\r\n", 2) < 0)
			return -1;
	}
	if (msg_spool_write(m, "\r\n", 2) < 0)
		return -1;
	m->body_offset = m->size;
	return 0;
}

int
msg_write_body(struct msg *m, const void *buf, size_t len)
{
	if (!m->body_started && msg_write_headers(m) < 0)
		return -1;
	return msg_spool_write(m, buf, len);
}

/* msg_flush - the spool file's buffered bytes to the file */
static int
msg_flush(struct msg *m)
{
	/* ferror: an earlier flush (early offload publishes the spool as it
	 * grows) may have failed on a full disk; stdio then drops what it held,
	 * and this flush has nothing left to fail on */
	errno = 0;
	if (fflush(m->spool) != 0 || ferror(m->spool)) {
		log_error("%s: spool flush %s: %s", m->env.queue_id ? m->env.queue_id : "-",
			m->spool_path, errno ? g_strerror(errno) : "an earlier write failed");
		return -1;
	}
	return 0;
}

int
msg_finish(struct msg *m)
{
	if (!m->body_started && msg_write_headers(m) < 0)
		return -1;
	if (m->mem != NULL)
		return 0;
	if (msg_flush(m) < 0)
		return -1;
	early_end(m->early); /* the spool is whole: a top-level leaf ends here */
	return 0;
}

/* msg_parse_header_block - split "Name: value" lines (CRLF) into headers */
static int
msg_parse_header_block(struct msg *m, const char *block, size_t len, GError **err)
{
	const char *p = block, *end = block + len;

	while (p < end) {
		const char *line_end = p, *colon;
		GString *value;

		/* a header field runs until a CRLF not followed by WSP */
		for (;;) {
			const char *nl = memchr(line_end, '\n', end - line_end);

			if (nl == NULL) {
				line_end = end;
				break;
			}
			line_end = nl + 1;
			if (line_end >= end || (*line_end != ' ' && *line_end != '\t'))
				break;
		}
		colon = memchr(p, ':', line_end - p);
		if (colon == NULL || colon == p) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				"malformed header line: %.*s", (int)MIN(line_end - p, 60), p);
			return -1;
		}
		value = g_string_new_len(colon + 1, line_end - colon - 1);
		if (value->len >= 2 && value->str[value->len - 2] == '\r')
			g_string_truncate(value, value->len - 2);
		else if (value->len >= 1 && value->str[value->len - 1] == '\n')
			g_string_truncate(value, value->len - 1);
		{
			char *name = g_strndup(p, colon - p);

			g_strchomp(name);
			msg_add_header(m, name, value->str);
			g_free(name);
		}
		g_string_free(value, TRUE);
		p = line_end;
	}
	return 0;
}

/* msg_is_header_start - "field-name:" with RFC 5322 ftext (obsolete
 * white space before the colon tolerated) */
static bool
msg_is_header_start(const char *line, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c == ':')
			return i > 0;
		if (c == ' ' || c == '\t') {
			for (; i < n && (line[i] == ' ' || line[i] == '\t'); i++)
				;
			return i > 0 && i < n && line[i] == ':' && line[0] != ' ' && line[0] != '\t';
		}
		if (c < 33 || c > 126)
			return false;
	}
	return false;
}

/* body_out - body bytes to the intake's writer (msg_write_body by default) */
static int
body_out(struct msg *m, const struct msg_intake *mi, const void *buf, size_t len)
{
	return mi != NULL && mi->body != NULL ? mi->body(m, buf, len, mi->arg) : msg_write_body(m, buf, len);
}

/* msg_read_body - the rest of in (the body) in blocks, not lines (issue 15:
 * a line at a time cost a tenth of `offloadctl process`): a bare LF line
 * end becomes CRLF, every other byte stays, exactly as msg_read_stream's
 * line loop writes them; one write per block read (a block with a bare LF
 * is converted into out first). 0, or -1 on a spool write error. */
static int
msg_read_body(struct msg *m, FILE *in, const struct msg_intake *mi, bool *crlf_seen, bool *lf_seen)
{
	char *buf = g_malloc(MSG_READ_BLOCK), *out = g_malloc(2 * MSG_READ_BLOCK);
	bool prev_cr = false; /* the byte before buf[0] was '\r' */
	size_t n;
	int rc = 0;

	while (rc == 0 && (n = fread(buf, 1, MSG_READ_BLOCK, in)) > 0) {
		const char *end = buf + n, *start = buf, *p = buf, *nl;
		size_t o = 0;

		while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			if (nl > buf ? nl[-1] == '\r' : prev_cr) {
				*crlf_seen = true;
			} else {
				*lf_seen = true;
				memcpy(out + o, start, (size_t)(nl - start));
				o += (size_t)(nl - start);
				out[o++] = '\r';
				out[o++] = '\n';
				start = nl + 1;
			}
			p = nl + 1;
		}
		if (start == buf) {
			rc = body_out(m, mi, buf, n);
		} else {
			memcpy(out + o, start, (size_t)(end - start));
			rc = body_out(m, mi, out, o + (size_t)(end - start));
		}
		prev_cr = buf[n - 1] == '\r';
	}
	g_free(buf);
	g_free(out);
	return rc;
}

/* headers_done - the header block is read: parse it and tell the intake */
static int
headers_done(struct msg *m, const struct msg_intake *mi, const GString *hdr, GError **err)
{
	if (msg_parse_header_block(m, hdr->str, hdr->len, err) < 0)
		return -1;
	if (mi != NULL && mi->headers != NULL)
		mi->headers(m, mi->arg);
	return 0;
}

int
msg_read_stream(struct msg *m, FILE *in, bool *had_crlf, GError **err)
{
	return msg_read_stream_with(m, in, NULL, had_crlf, err);
}

int
msg_read_stream_with(struct msg *m, FILE *in, const struct msg_intake *mi, bool *had_crlf, GError **err)
{
	GString *hdr = g_string_new(NULL);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	bool first = true, in_headers = true, crlf_seen = false, lf_seen = false;
	int rc = -1;

	while ((n = getline(&line, &cap, in)) > 0) {
		bool has_nl = line[n - 1] == '\n';

		if (has_nl) {
			if (n >= 2 && line[n - 2] == '\r') {
				crlf_seen = true;
				n -= 2;
			} else {
				lf_seen = true;
				n -= 1;
			}
		}
		if (first) {
			first = false;
			if (n >= 5 && memcmp(line, "From ", 5) == 0)
				continue; /* mbox separator line */
		}
		if (in_headers) {
			if (n == 0) {
				in_headers = false;
				if (headers_done(m, mi, hdr, err) < 0)
					goto out;
				if (body_out(m, mi, "", 0) < 0)
					goto io_error;
				break; /* the body: msg_read_body */
			}
			if (hdr->len > MSG_MAX_HEADER_BLOCK) {
				g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
					"header block larger than %d bytes", MSG_MAX_HEADER_BLOCK);
				goto out;
			}
			if (((line[0] == ' ' || line[0] == '\t') && hdr->len > 0) ||
			    msg_is_header_start(line, (size_t)n)) {
				g_string_append_len(hdr, line, n);
				g_string_append(hdr, "\r\n");
				continue;
			}
			/* a line that is neither a header nor a continuation ends the
			 * header block and starts the body, as Postfix's cleanup does */
			in_headers = false;
			if (headers_done(m, mi, hdr, err) < 0)
				goto out;
		}
		if (has_nl)
			memcpy(line + n, "\r\n", 2); /* getline's buffer held the line end */
		if (body_out(m, mi, line, (size_t)n + (has_nl ? 2 : 0)) < 0)
			goto io_error;
		break; /* the first body line: the rest in msg_read_body */
	}
	if (!in_headers && msg_read_body(m, in, mi, &crlf_seen, &lf_seen) < 0)
		goto io_error;
	if (ferror(in)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "read error: %s", g_strerror(errno));
		goto out;
	}
	if (in_headers && headers_done(m, mi, hdr, err) < 0)
		goto out;
	if (msg_finish(m) < 0)
		goto io_error;
	*had_crlf = crlf_seen || !lf_seen;
	rc = 0;
	goto out;
io_error:
	g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot write the spool in %s", m->spool_dir);
out:
	free(line);
	g_string_free(hdr, TRUE);
	return rc;
}

const char *
msg_header_get(const struct msg *m, const char *name, int n)
{
	guint i;

	for (i = 0; i < m->headers->len; i++) {
		struct msg_header *h = g_ptr_array_index(m->headers, i);

		if (g_ascii_strcasecmp(h->name, name) == 0 && n-- == 0)
			return h->value;
	}
	return NULL;
}

int
msg_header_count(const struct msg *m, const char *name)
{
	guint i;
	int c = 0;

	for (i = 0; i < m->headers->len; i++) {
		struct msg_header *h = g_ptr_array_index(m->headers, i);

		if (g_ascii_strcasecmp(h->name, name) == 0)
			c++;
	}
	return c;
}

char *
msg_strip_value(const char *raw)
{
	GString *s = g_string_new(NULL);
	const char *p;

	for (p = raw; *p; p++) {
		if (*p == '\r' || *p == '\n')
			continue;
		g_string_append_c(s, *p == '\t' ? ' ' : *p);
	}
	g_strstrip(s->str);
	return g_string_free(s, FALSE);
}

/*
 * pipeline_intake.c - the intake checks of pipeline_run (DECISIONS.md §4,
 * §13): direction and trust (trusted_networks, internal_domains), our own
 * notices and messages offloaded before (their headers verify against this
 * very body), and the parse of the spooled message.
 */
#include "pipeline_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <gio/gio.h>

#include "log.h"
#include "notify.h"
#include "spool_stream.h"

/* pipeline_nets - trusted_networks as bytes + prefix, parsed by GInetAddressMask
 * once (conf.c has validated them; an entry it cannot parse never matches) */
GArray *
pipeline_nets(char *const *nets)
{
	GArray *a = g_array_new(FALSE, TRUE, sizeof(struct pipeline_net));

	for (; nets && *nets; nets++) {
		GInetAddressMask *mask = g_inet_address_mask_new_from_string(*nets, NULL);
		struct pipeline_net n = { 0 };
		GInetAddress *ma;

		if (mask == NULL)
			continue;
		ma = g_inet_address_mask_get_address(mask);
		n.family = g_inet_address_get_family(ma) == G_SOCKET_FAMILY_IPV6 ? AF_INET6 : AF_INET;
		memcpy(n.addr, g_inet_address_to_bytes(ma), g_inet_address_get_native_size(ma));
		n.len = g_inet_address_mask_get_length(mask);
		g_array_append_val(a, n);
		g_object_unref(mask);
	}
	return a;
}

/* pipeline_nets_match - like g_inet_address_mask_matches() over the list:
 * same family and the first len bits equal (no GObject per message) */
bool
pipeline_nets_match(const GArray *nets, const char *addr)
{
	guint8 b[16];
	int family;
	guint i;

	if (addr == NULL || nets == NULL)
		return false;
	if (inet_pton(AF_INET, addr, b) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, addr, b) == 1)
		family = AF_INET6;
	else
		return false;
	for (i = 0; i < nets->len; i++) {
		const struct pipeline_net *n = &g_array_index(nets, struct pipeline_net, i);
		guint full = n->len / 8, rest = n->len % 8;

		if (n->family != family || memcmp(b, n->addr, full) != 0)
			continue;
		if (rest == 0 || ((b[full] ^ n->addr[full]) & (guint8)(0xff << (8 - rest))) == 0)
			return true;
	}
	return false;
}

/* domain_is_internal - compare lower-cased IDNA A-labels; ".x" = subdomains */
bool
domain_is_internal(const char *rcpt, char *const *internal)
{
	const char *at = strrchr(rcpt, '@');
	char *ascii, *dom;
	bool hit = false;

	if (internal == NULL || at == NULL)
		return false;
	ascii = g_hostname_to_ascii(at + 1);
	dom = g_ascii_strdown(ascii ? ascii : at + 1, -1);
	for (; *internal && !hit; internal++) {
		const char *d = *internal;

		if (d[0] == '.') {
			size_t dl = strlen(dom), il = strlen(d);

			hit = dl > il && strcmp(dom + dl - il, d) == 0;
		} else {
			hit = strcmp(dom, d) == 0;
		}
	}
	g_free(ascii);
	g_free(dom);
	return hit;
}

static bool
msg_is_trusted(const struct pipeline *p, const struct msg *m)
{
	const struct conf *c = p->conf;
	char *const *d;

	if (m->env.local_submission || (m->env.auth_authen && *m->env.auth_authen))
		return true;
	for (d = c->trusted_daemons; d && *d && m->env.daemon_name; d++)
		if (strcmp(*d, m->env.daemon_name) == 0)
			return true;
	return pipeline_nets_match(p->trusted, m->env.client_addr);
}

static bool
msg_has_external_rcpt(const struct conf *c, const struct msg *m)
{
	guint i;

	for (i = 0; i < m->env.rcpts->len; i++)
		if (!domain_is_internal(g_ptr_array_index(m->env.rcpts, i), c->internal_domains))
			return true;
	return false;
}

/* run_body_digest - the body digest (FORMATS.md §3.1) of the spooled
 * message, computed once and only when a header of ours needs it; NULL
 * when the spool cannot be read (then no header of ours verifies) */
static const unsigned char *
run_body_digest(struct run *r)
{
	const GByteArray *mem = msg_spool_mem(r->m);

	if (r->body_in_state == 0 && mem != NULL) {
		/* a small message spooled in memory (msg.h) */
		struct body_digest d;

		body_digest_init(&d);
		if (mem->len > r->m->body_offset)
			body_digest_update(&d, mem->data + r->m->body_offset, mem->len - r->m->body_offset);
		body_digest_final(&d, r->body_in);
		r->body_in_state = 1;
	} else if (r->body_in_state == 0) {
		if (body_digest_file(r->m->spool_path, r->m->body_offset, r->body_in) == 0) {
			r->body_in_state = 1;
		} else {
			log_warning("%s: cannot read the spool %s for the body digest: %s", r->qid,
				r->m->spool_path, g_strerror(errno));
			r->body_in_state = -1;
		}
	}
	return r->body_in_state > 0 ? r->body_in : NULL;
}

/* already_offloaded - a valid X-Offload-Transfer of ours (any gateway of
 * this deployment) over this Message-ID and this very body means the
 * message was handled before; copied into other content it does not verify */
static bool
already_offloaded(struct run *r)
{
	int i, n = msg_header_count(r->m, "X-Offload-Transfer");

	for (i = 0; i < n; i++) {
		char *v = msg_strip_value(msg_header_get(r->m, "X-Offload-Transfer", i));
		char *semi = strchr(v, ';'), *mac = strstr(v, "mac=");
		bool ok = false;

		if (semi && mac) {
			char *id = g_strndup(v, semi - v);

			g_strstrip(id);
			ok = transfer_header_mac_check(&r->p->dk, r->message_id, id, run_body_digest(r),
				mac + 4);
			g_free(id);
		}
		g_free(v);
		if (ok)
			return true;
	}
	return false;
}

/* is_our_notice - our own confirmation or password mail (its Message-ID and
 * its body as built) passes untouched */
static bool
is_our_notice(struct run *r)
{
	int i, n = msg_header_count(r->m, "X-Offload-Notice");

	for (i = 0; i < n; i++) {
		char *v = msg_strip_value(msg_header_get(r->m, "X-Offload-Notice", i));
		bool ok = r->message_id && strstr(v, "mac=") &&
			notify_is_ours(&r->p->dk, r->message_id, run_body_digest(r), v);

		g_free(v);
		if (ok)
			return true;
	}
	return false;
}

GMimeMessage *
run_parse(struct run *r)
{
	GMimeStream *fs;
	GMimeMessage *message;
	const GByteArray *mem = msg_spool_mem(r->m);

	if (mem != NULL) {
		/* a small message is parsed where it is; r->m outlives r->message */
		fs = g_mime_stream_mem_new_with_byte_array((GByteArray *)mem);
		g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(fs), FALSE);
	} else {
		int fd = open(r->m->spool_path, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			log_error("%s: cannot reopen spool %s: %s", r->qid, r->m->spool_path, g_strerror(errno));
			return NULL;
		}
		fs = spool_stream_new(fd); /* reads 256 KiB at once, not the parser's 4 KiB */
		/* early offload read the big leaf already: GMime need not */
		if ((message = run_parse_excised(r, fs, fd)) != NULL) {
			g_object_unref(fs);
			return message;
		}
	}
	message = run_parse_stream(fs);
	g_object_unref(fs);
	return message;
}

GMimeMessage *
run_parse_stream(GMimeStream *s)
{
	GMimeParser *parser = g_mime_parser_new_with_stream(s);
	GMimeMessage *message;

	g_mime_parser_set_persist_stream(parser, TRUE); /* parts point into s */
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	message = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	return message;
}

/* run_intake - size limit, direction and trust (DECISIONS.md §4, §13), our
 * own notices and messages offloaded before: false when the message passes
 * (or fails) here */
bool
msg_outgoing(const struct pipeline *p, const struct msg *m)
{
	return msg_is_trusted(p, m) && msg_has_external_rcpt(p->conf, m);
}

bool
run_intake(struct run *r)
{
	r->outgoing = msg_outgoing(r->p, r->m);
	classify_result_init(&r->cls);
	classify_message(r->outgoing, &r->cls);
	if (r->m->too_big) {
		run_fail(r, "message larger than max_message_size");
		return false;
	}
	if (is_our_notice(r)) {
		run_pass(r, "pass", "notice");
		return false;
	}
	if (!r->outgoing && !r->p->conf->rewrite_internal) {
		run_pass(r, "pass", "internal");
		return false;
	}
	if (already_offloaded(r)) {
		run_pass(r, "pass", "already-offloaded");
		return false;
	}
	return true;
}

/*
 * milter_main.c - offload-milter: the thin libmilter daemon around the
 * shared pipeline. Connection context owns the message context; the body is
 * spooled to a private file; end of message runs pipeline_run() and replays
 * its header operations and new body with smfi_*. All libraries are
 * initialised here before smfi_main(); the pipeline is read-only afterwards.
 *
 *   offload-milter [-c FILE] [-f]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>
#include <gmime/gmime.h>
#include <libmilter/mfapi.h>

#include "conf.h"
#include "early.h"
#include "hdrops.h"
#include "log.h"
#include "msg.h"
#include "pipeline.h"
#include "spool_tmp.h"

#define MILTER_PROGRESS_SECONDS 30
#define MILTER_PROGRESS_MIN_SIZE (1024 * 1024)
#define MILTER_REPLACE_CHUNK 65536 /* DECISIONS.md §4: <= 64 KiB chunks */
/* libmilter drops the connection on a command larger than its limit (64 KiB
 * by default: a long header line, and Postfix passes header lines up to
 * header_size_limit = 100 KiB). Above the header block cap, so a header up
 * to the cap reaches mlfi_header and gets a defined answer. */
#define MILTER_MAX_CMD (2 * MSG_MAX_HEADER_BLOCK)

static struct conf *milter_conf;
static struct pipeline milter_pipe;

struct conn_ctx {
	char *client_addr;
	char *client_name;
	char *daemon_name;
	bool local;
	struct msg *m;
	bool body_error;       /* also set when a no-reply callback could not store */
	size_t hdr_bytes;      /* the header block so far */
	bool hdr_too_big;      /* over MSG_MAX_HEADER_BLOCK: 552 at end of message */
	unsigned long noreply; /* SMFIP_NR_* granted for this connection */
};

/* reply - SMFIS_NOREPLY where the MTA agreed not to wait for an answer
 * (saves one round trip per header and body chunk) */
static sfsistat
reply(const struct conn_ctx *cc, unsigned long nr_flag)
{
	return cc && (cc->noreply & nr_flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static struct conn_ctx *
conn_get(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

static char *
symval(SMFICTX *ctx, const char *name)
{
	const char *v = smfi_getsymval(ctx, (char *)name);

	return v && *v ? g_strdup(v) : NULL;
}

static void
conn_msg_reset(struct conn_ctx *cc)
{
	msg_free(cc->m);
	cc->m = NULL;
	cc->body_error = false;
	cc->hdr_bytes = 0;
	cc->hdr_too_big = false;
}

/* the message's spool is closed after end of message has answered: for a
 * message of hundreds of MB the kernel takes ~0.1 s to free it, which the
 * sender would otherwise wait for; one thread, drained at exit */
static GThreadPool *milter_reaper;

static void
reap_msg(gpointer data, gpointer user_data)
{
	(void)user_data;
	msg_free(data);
}

/* conn_msg_done - conn_msg_reset after end of message: a large message's
 * msg (spool, early offload already ended) goes to the reaper */
static void
conn_msg_done(struct conn_ctx *cc)
{
	if (cc->m != NULL && milter_reaper != NULL && cc->m->size > MILTER_PROGRESS_MIN_SIZE &&
	    g_thread_pool_push(milter_reaper, cc->m, NULL))
		cc->m = NULL;
	conn_msg_reset(cc);
}

static sfsistat
mlfi_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
	struct conn_ctx *cc = conn_get(ctx);
	char buf[INET6_ADDRSTRLEN] = "";

	if (cc == NULL)
		cc = g_new0(struct conn_ctx, 1);

	cc->client_name = g_strdup(hostname);
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)sa)->sin_addr, buf, sizeof buf);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)sa)->sin6_addr, buf, sizeof buf);
	if (buf[0])
		cc->client_addr = g_strdup(buf);
	else
		cc->local = true; /* no socket address: local submission (non_smtpd_milters) */
	cc->daemon_name = symval(ctx, "{daemon_name}");
	smfi_setpriv(ctx, cc);
	return reply(cc, SMFIP_NR_CONN);
}

static sfsistat
mlfi_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn_ctx *cc = conn_get(ctx);
	GError *err = NULL;
	struct msg *m;

	if (cc == NULL)
		return SMFIS_TEMPFAIL;
	conn_msg_reset(cc);
	m = msg_new(milter_conf->spool_dir, milter_conf->max_message_size, &err);
	if (m == NULL) {
		log_error("cannot start a message: %s", err->message);
		g_error_free(err);
		if (cc->noreply & SMFIP_NR_MAIL) {
			cc->body_error = true; /* answered with 4xx at end of message */
			return SMFIS_NOREPLY;
		}
		smfi_setreply(ctx, "451", "4.3.0", "offload: spool unavailable, try again later");
		return SMFIS_TEMPFAIL;
	}
	m->env.sender = g_strdup(argv[0] ? argv[0] : "");
	{
		char *s = m->env.sender;
		size_t n;

		/* strip <> in place */
		if (s[0] == '<')
			memmove(s, s + 1, strlen(s));
		n = strlen(s);
		if (n && s[n - 1] == '>')
			s[n - 1] = '\0';
	}
	m->env.auth_authen = symval(ctx, "{auth_authen}");
	m->env.queue_id = symval(ctx, "i");
	m->env.client_addr = g_strdup(cc->client_addr);
	m->env.client_name = g_strdup(cc->client_name);
	m->env.daemon_name = g_strdup(cc->daemon_name);
	m->env.local_submission = cc->local;
	cc->m = m;
	return reply(cc, SMFIP_NR_MAIL);
}

static sfsistat
mlfi_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn_ctx *cc = conn_get(ctx);

	if (cc == NULL || cc->m == NULL) {
		if (cc)
			cc->body_error = true;
		return cc && (cc->noreply & SMFIP_NR_RCPT) ? SMFIS_NOREPLY : SMFIS_TEMPFAIL;
	}
	msg_add_rcpt(cc->m, argv[0]);
	return reply(cc, SMFIP_NR_RCPT);
}

static sfsistat
mlfi_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn_ctx *cc = conn_get(ctx);

	if (cc == NULL || cc->m == NULL) {
		if (cc)
			cc->body_error = true;
		return cc && (cc->noreply & SMFIP_NR_HDR) ? SMFIS_NOREPLY : SMFIS_TEMPFAIL;
	}
	cc->hdr_bytes += strlen(name) + strlen(value) + 3;
	if (cc->hdr_bytes > MSG_MAX_HEADER_BLOCK)
		cc->hdr_too_big = true; /* answered at end of message */
	else
		msg_add_header(cc->m, name, value);
	return reply(cc, SMFIP_NR_HDR);
}

static sfsistat
mlfi_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct conn_ctx *cc = conn_get(ctx);

	if (cc == NULL || cc->m == NULL) {
		if (cc)
			cc->body_error = true;
		return cc && (cc->noreply & SMFIP_NR_BODY) ? SMFIS_NOREPLY : SMFIS_TEMPFAIL;
	}
	/* early_offload: also follow the MIME structure and store a large
	 * attachment while the body arrives (early.h) */
	if (!cc->body_error && (milter_conf->early_offload ?
	    early_body(&milter_pipe, cc->m, chunk, len) : msg_write_body(cc->m, chunk, len)) != 0)
		cc->body_error = true;
	return reply(cc, SMFIP_NR_BODY);
}

/* progress thread: keeps Postfix from timing out while we upload */
struct progress {
	SMFICTX *ctx;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

static void *
progress_run(void *arg)
{
	struct progress *pr = arg;
	struct timespec ts;

	pthread_mutex_lock(&pr->lock);
	while (!pr->done) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += MILTER_PROGRESS_SECONDS;
		if (pthread_cond_timedwait(&pr->cond, &pr->lock, &ts) == ETIMEDOUT && !pr->done)
			smfi_progress(pr->ctx);
	}
	pthread_mutex_unlock(&pr->lock);
	return NULL;
}

static int
replay_result(SMFICTX *ctx, const struct pipeline_result *res)
{
	unsigned char *buf = NULL;
	FILE *body = NULL;
	size_t n;
	guint i;
	int rc = -1;

	for (i = 0; i < res->hdr_ops->len; i++) {
		const struct hdr_op *op = g_ptr_array_index(res->hdr_ops, i);
		int r = op->kind == HDR_OP_ADD ?
			smfi_addheader(ctx, op->name, op->value) :
			smfi_chgheader(ctx, op->name, op->index, op->value);

		if (r != MI_SUCCESS) {
			log_error("smfi header operation on %s failed", op->name);
			goto out;
		}
	}
	if (res->body_path == NULL)
		return 0;
	body = fopen(res->body_path, "rb");
	if (body == NULL) {
		log_error("cannot reopen new body %s: %s", res->body_path, g_strerror(errno));
		goto out;
	}
	buf = g_malloc(MILTER_REPLACE_CHUNK);
	while ((n = fread(buf, 1, MILTER_REPLACE_CHUNK, body)) > 0) {
		if (smfi_replacebody(ctx, buf, n) != MI_SUCCESS) {
			log_error("smfi_replacebody failed");
			goto out;
		}
	}
	rc = ferror(body) ? -1 : 0;
out:
	if (body)
		fclose(body);
	g_free(buf);
	return rc;
}

static sfsistat
mlfi_eom(SMFICTX *ctx)
{
	struct conn_ctx *cc = conn_get(ctx);
	struct pipeline_result res = { 0 };
	struct progress pr = { 0 };
	pthread_t th;
	bool th_ok;
	sfsistat ret = SMFIS_CONTINUE;
	struct msg *m;

	if (cc == NULL || cc->m == NULL)
		return SMFIS_TEMPFAIL;
	m = cc->m;
	if (m->env.queue_id == NULL)
		m->env.queue_id = symval(ctx, "i");
	if (cc->hdr_too_big) {
		/* a permanent property, like offloadctl's exit 65 */
		log_warning("%s: header block larger than %d bytes; rejected",
			m->env.queue_id ? m->env.queue_id : "NOQUEUE", MSG_MAX_HEADER_BLOCK);
		smfi_setreply(ctx, "552", "5.3.4", "offload: message header too large");
		conn_msg_reset(cc);
		return SMFIS_REJECT;
	}
	if (cc->body_error || msg_finish(m) != 0) {
		log_error("%s: spool write failed; deferring", m->env.queue_id ? m->env.queue_id : "NOQUEUE");
		smfi_setreply(ctx, "451", "4.3.0", "offload: spool write failed, try again later");
		conn_msg_reset(cc);
		return SMFIS_TEMPFAIL;
	}
	pr.ctx = ctx;
	pthread_mutex_init(&pr.lock, NULL);
	pthread_cond_init(&pr.cond, NULL);
	/* only large messages can take long enough to need progress reports */
	th_ok = m->size > MILTER_PROGRESS_MIN_SIZE &&
		pthread_create(&th, NULL, progress_run, &pr) == 0;
	pipeline_run(&milter_pipe, m, &res);
	pthread_mutex_lock(&pr.lock);
	pr.done = true;
	pthread_cond_signal(&pr.cond);
	pthread_mutex_unlock(&pr.lock);
	if (th_ok)
		pthread_join(th, NULL);
	pthread_cond_destroy(&pr.cond);
	pthread_mutex_destroy(&pr.lock);

	log_info("%s", res.summary ? res.summary : "(no summary)");
	switch (res.verdict) {
	case PIPELINE_ACCEPT:
		/* [scan] on_infected = quarantine: Postfix puts it on hold, unchanged */
		if (res.quarantine != NULL && smfi_quarantine(ctx, (char *)res.quarantine) != MI_SUCCESS) {
			smfi_setreply(ctx, "451", "4.3.0", "offload: cannot quarantine the message");
			ret = SMFIS_TEMPFAIL;
		} else if (replay_result(ctx, &res) != 0) {
			smfi_setreply(ctx, "451", "4.3.0", "offload: cannot hand the rewritten message back");
			ret = SMFIS_TEMPFAIL;
		}
		break;
	case PIPELINE_REJECT:
		smfi_setmlreply(ctx, res.rcode, res.xcode, res.reply_de, res.reply_en, NULL);
		ret = SMFIS_REJECT;
		break;
	default:
		smfi_setmlreply(ctx, res.rcode, res.xcode, res.reply_de, res.reply_en, NULL);
		ret = SMFIS_TEMPFAIL;
		break;
	}
	pipeline_result_clear(&res);
	conn_msg_done(cc);
	return ret;
}

static sfsistat
mlfi_abort(SMFICTX *ctx)
{
	struct conn_ctx *cc = conn_get(ctx);

	if (cc)
		conn_msg_reset(cc);
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_close(SMFICTX *ctx)
{
	struct conn_ctx *cc = conn_get(ctx);

	if (cc == NULL)
		return SMFIS_CONTINUE;
	conn_msg_reset(cc);
	g_free(cc->client_addr);
	g_free(cc->client_name);
	g_free(cc->daemon_name);
	g_free(cc);
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
	unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
	unsigned long *pf3)
{
	struct conn_ctx *cc = g_new0(struct conn_ctx, 1);

	(void)f2;
	(void)f3;
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_QUARANTINE);
	/* no replies for connect, RCPT, headers and body chunks: errors there
	 * are remembered and answered at end of message */
	cc->noreply = f1 & (SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_BODY);
	/* SMFIP_HDR_LEADSPC: header values keep their leading space both ways,
	 * so unchanged headers stay byte-identical (DECISIONS.md §13).
	 * SMFIP_NODATA: no DATA step and so no round trip per message there;
	 * the queue id ({i}) is read at MAIL and again at end of message */
	*pf1 = (f1 & (SMFIP_HDR_LEADSPC | SMFIP_NOUNKNOWN | SMFIP_NOHELO | SMFIP_NODATA | SMFIP_NOEOH)) |
		cc->noreply;
	*pf2 = 0;
	*pf3 = 0;
	smfi_setpriv(ctx, cc);
	return SMFIS_CONTINUE;
}

static struct smfiDesc milter_desc = {
	.xxfi_name = "offload",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_QUARANTINE,
	.xxfi_connect = mlfi_connect,
	.xxfi_envfrom = mlfi_envfrom,
	.xxfi_envrcpt = mlfi_envrcpt,
	.xxfi_header = mlfi_header,
	.xxfi_body = mlfi_body,
	.xxfi_eom = mlfi_eom,
	.xxfi_abort = mlfi_abort,
	.xxfi_close = mlfi_close,
	.xxfi_negotiate = mlfi_negotiate,
};

/* set_nodelay - libmilter never sets TCP_NODELAY; accepted sockets inherit
 * it from the listener (DECISIONS.md §A.2: Nagle + delayed ACK cost 3/4 of
 * the throughput). libmilter does not expose the fd, so find the listener. */
static void
set_nodelay(void)
{
	int fd;

	for (fd = 3; fd < 1024; fd++) {
		int on = 1, acc = 0;
		socklen_t l = sizeof acc;

		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l) == 0 && acc)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
	}
}

static int
prepare_unix_socket(const char *spec)
{
	const char *path = spec + 5;
	char *dir = g_path_get_dirname(path);
	struct group *gr = getgrnam("postfix");
	int rc = 0;

	if (g_mkdir_with_parents(dir, 0750) != 0) {
		log_fatal("cannot create socket directory %s: %s", dir, g_strerror(errno));
		rc = -1;
	} else if (gr && chown(dir, (uid_t)-1, gr->gr_gid) != 0) {
		log_warning("cannot give %s to group postfix: %s", dir, g_strerror(errno));
	}
	g_free(dir);
	return rc;
}

/* sweep_spool - remove the named spool files a crashed milter or offloadctl
 * left (the named fallback without O_TMPFILE; spool_tmp.h): only those no
 * live process holds locked */
static void
sweep_spool(const char *dir)
{
	int n = spool_tmp_sweep(dir, false);

	if (n < 0)
		log_warning("cannot sweep the spool %s: %s", dir, g_strerror(errno));
	else if (n > 0)
		log_info("removed %d spool file%s left by a crash from %s", n, n == 1 ? "" : "s", dir);
}

static void
finish_unix_socket(const char *spec)
{
	const char *path = spec + 5;
	struct group *gr = getgrnam("postfix");

	/* like Debian's opendkim: mode 0660, group postfix */
	if (gr && chown(path, (uid_t)-1, gr->gr_gid) != 0)
		log_warning("cannot give %s to group postfix: %s", path, g_strerror(errno));
	if (chmod(path, gr ? 0660 : 0666) != 0)
		log_warning("cannot chmod %s: %s", path, g_strerror(errno));
}

int
main(int argc, char **argv)
{
	const char *conf_path = CONF_DEFAULT_PATH;
	bool foreground = false, is_unix;
	GError *err = NULL;
	int opt, rc;

	while ((opt = getopt(argc, argv, "c:fh")) != -1) {
		switch (opt) {
		case 'c':
			conf_path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'h':
			printf("usage: offload-milter [-c FILE] [-f]\n");
			return 0;
		default:
			fprintf(stderr, "usage: offload-milter [-c FILE] [-f]\n");
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: offload-milter [-c FILE] [-f]\n");
		return EX_USAGE;
	}
	log_init("offload-milter", foreground, true);
	milter_conf = conf_load(conf_path, &err);
	if (milter_conf == NULL) {
		log_fatal("%s", err->message);
		g_error_free(err);
		return EX_CONFIG;
	}
	g_mime_init();
	rc = pipeline_init(&milter_pipe, milter_conf, &err);
	if (rc != 0) {
		log_fatal("%s", err->message);
		g_error_free(err);
		return rc == PIPELINE_ECONFIG ? EX_CONFIG : EX_UNAVAILABLE;
	}
	sweep_spool(milter_conf->spool_dir);
	is_unix = g_str_has_prefix(milter_conf->socket, "unix:");
	if (is_unix && prepare_unix_socket(milter_conf->socket) != 0)
		return EX_CANTCREAT;
	if (smfi_setconn(milter_conf->socket) == MI_FAILURE ||
	    smfi_register(milter_desc) == MI_FAILURE) {
		log_fatal("cannot register the milter on %s", milter_conf->socket);
		return EX_SOFTWARE;
	}
	smfi_setbacklog(128);
	smfi_setmaxdatasize(MILTER_MAX_CMD);
	/* Postfix's milter_content_timeout is 300 s; answer before it */
	smfi_settimeout((int)milter_conf->eom_timeout + 60);
	if (!foreground && daemon(0, 0) != 0) {
		log_fatal("cannot become a daemon: %s", g_strerror(errno));
		return EX_OSERR;
	}
	if (is_unix)
		umask(0007);
	if (smfi_opensocket(1) == MI_FAILURE) {
		log_fatal("cannot open milter socket %s", milter_conf->socket);
		return EX_UNAVAILABLE;
	}
	if (is_unix)
		finish_unix_socket(milter_conf->socket);
	else
		set_nodelay();
	log_info("listening on %s (storage %s, offload_min_size %llu)", milter_conf->socket,
		milter_conf->backend,
		(unsigned long long)milter_conf->offload_min_size);
	milter_reaper = g_thread_pool_new(reap_msg, NULL, 1, FALSE, NULL);
	rc = smfi_main() == MI_SUCCESS ? 0 : EX_SOFTWARE;
	if (milter_reaper != NULL)
		g_thread_pool_free(milter_reaper, FALSE, TRUE); /* every spool closed */
	log_info("stopped");
	pipeline_fini(&milter_pipe);
	conf_free(milter_conf);
	return rc;
}

/*
 * b64stream.c - the fast base64 decoding stream (see b64stream.h)
 */
#include "b64stream.h"

#include <string.h>

#include "b64dec.h"

#define B64S_RAW (256 * 1024) /* encoded bytes read from the source at once */
#define B64S_SMALL 64         /* reads shorter than this go through pend */

typedef struct {
	GMimeStream parent;
	GMimeStream *src;
	unsigned char *raw;
	struct b64dec dec;
	unsigned flags;
	bool done;                 /* the source ended: flags are final */
	unsigned char pend[8];     /* decoded bytes a short read could not take */
	size_t npend, ppos;
} OffloadB64Stream;

typedef struct {
	GMimeStreamClass parent_class;
} OffloadB64StreamClass;

static GType offload_b64_stream_get_type(void);
G_DEFINE_TYPE(OffloadB64Stream, offload_b64_stream, GMIME_TYPE_STREAM)
#define B64S(o) ((OffloadB64Stream *)(o))

/* b64s_short - a read below B64S_SMALL bytes: one quantum at a time via pend */
static size_t
b64s_short(OffloadB64Stream *s, size_t n, char *buf, size_t len)
{
	size_t k;

	s->npend = b64dec_step(&s->dec, s->raw, n, s->pend);
	s->ppos = 0;
	k = MIN(s->npend, len);
	memcpy(buf, s->pend, k);
	s->ppos = k;
	if (s->ppos == s->npend)
		s->npend = s->ppos = 0;
	return k;
}

static ssize_t
b64s_read(GMimeStream *stream, char *buf, size_t len)
{
	OffloadB64Stream *s = B64S(stream);
	size_t out = 0;

	if (s->npend > 0) {
		out = MIN(s->npend - s->ppos, len);
		memcpy(buf, s->pend + s->ppos, out);
		s->ppos += out;
		if (s->ppos == s->npend)
			s->npend = s->ppos = 0;
	}
	while (out == 0 && len > 0 && !s->done) {
		size_t want = len >= B64S_SMALL ? MIN((len - 3) / 3 * 4, B64S_RAW) : 4;
		ssize_t n = 0;

		/* a bounded source read at its end fails: ask eos first */
		if (!g_mime_stream_eos(s->src))
			n = g_mime_stream_read(s->src, (char *)s->raw, want);
		if (n < 0)
			return -1;
		if (n == 0) {
			s->flags = b64dec_finish(&s->dec);
			s->done = true;
		} else if (len >= B64S_SMALL) {
			out = b64dec_step(&s->dec, s->raw, (size_t)n, buf);
		} else {
			out = b64s_short(s, (size_t)n, buf, len);
		}
	}
	stream->position += (gint64)out;
	return (ssize_t)out;
}

static gboolean
b64s_eos(GMimeStream *stream)
{
	OffloadB64Stream *s = B64S(stream);

	return s->npend == 0 && (s->done || g_mime_stream_eos(s->src));
}

static int
b64s_reset(GMimeStream *stream)
{
	OffloadB64Stream *s = B64S(stream);

	if (g_mime_stream_reset(s->src) < 0)
		return -1;
	b64dec_init(&s->dec);
	s->flags = 0;
	s->done = false;
	s->npend = s->ppos = 0;
	stream->position = 0;
	return 0;
}

static int
b64s_close(GMimeStream *stream)
{
	(void)stream;
	return 0;
}

static gint64
b64s_length(GMimeStream *stream)
{
	(void)stream;
	return -1;
}

static void
offload_b64_stream_finalize(GObject *obj)
{
	OffloadB64Stream *s = B64S(obj);

	g_clear_object(&s->src);
	g_free(s->raw);
	G_OBJECT_CLASS(offload_b64_stream_parent_class)->finalize(obj);
}

static void
offload_b64_stream_class_init(OffloadB64StreamClass *klass)
{
	GMimeStreamClass *sc = GMIME_STREAM_CLASS(klass);

	G_OBJECT_CLASS(klass)->finalize = offload_b64_stream_finalize;
	sc->read = b64s_read;
	sc->eos = b64s_eos;
	sc->reset = b64s_reset;
	sc->close = b64s_close;
	sc->length = b64s_length;
}

static void
offload_b64_stream_init(OffloadB64Stream *s)
{
	s->raw = g_malloc(B64S_RAW);
	b64dec_init(&s->dec);
}

GMimeStream *
b64stream_new(GMimeStream *src)
{
	OffloadB64Stream *s = g_object_new(offload_b64_stream_get_type(), NULL);

	g_mime_stream_construct(GMIME_STREAM(s), 0, -1);
	s->src = g_object_ref(src);
	return GMIME_STREAM(s);
}

bool
b64stream_is(GMimeStream *s)
{
	return s != NULL && G_TYPE_CHECK_INSTANCE_TYPE(s, offload_b64_stream_get_type());
}

unsigned
b64stream_flags(GMimeStream *s)
{
	return b64stream_is(s) ? B64S(s)->flags : 0;
}

bool
b64stream_lost(GMimeStream *s)
{
	return b64stream_is(s) && b64dec_lost(&B64S(s)->dec);
}

uint64_t
b64stream_after(GMimeStream *s)
{
	return b64stream_is(s) ? B64S(s)->dec.after : 0;
}

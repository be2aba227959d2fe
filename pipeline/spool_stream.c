/*
 * spool_stream.c - a read-buffered GMimeStreamFs for parsing the spool
 * (see spool_stream.h).
 */
#include "spool_stream.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define SPOOL_STREAM_BUF (256 * 1024)

typedef struct {
	GMimeStreamFs parent;
	unsigned char *buf;
	gint64 bstart;  /* file offset of buf[0] */
	size_t blen;    /* bytes in buf */
} SpoolStream;

typedef struct {
	GMimeStreamFsClass parent_class;
} SpoolStreamClass;

GType spool_stream_get_type(void);
G_DEFINE_TYPE(SpoolStream, spool_stream, GMIME_TYPE_STREAM_FS)

/* spool_stream_read - GMimeStreamFs's read (bounds, eos, position) from the buffer */
static ssize_t
spool_stream_read(GMimeStream *stream, char *out, size_t len)
{
	SpoolStream *s = (SpoolStream *)stream;
	GMimeStreamFs *fs = (GMimeStreamFs *)stream;
	gint64 pos = stream->position;
	ssize_t r;
	size_t n;

	if (stream->bound_end != -1) {
		if (pos >= stream->bound_end) {
			errno = EINVAL;
			return -1;
		}
		len = (size_t)MIN(stream->bound_end - pos, (gint64)len);
	}
	if (len == 0)
		return 0;
	if (pos < s->bstart || pos >= s->bstart + (gint64)s->blen) {
		do
			r = pread(fs->fd, s->buf, SPOOL_STREAM_BUF, (off_t)pos);
		while (r < 0 && errno == EINTR);
		if (r <= 0) {
			if (r == 0)
				fs->eos = TRUE;
			return r;
		}
		s->bstart = pos;
		s->blen = (size_t)r;
	}
	n = MIN(len, (size_t)(s->bstart + (gint64)s->blen - pos));
	memcpy(out, s->buf + (pos - s->bstart), n);
	stream->position += (gint64)n;
	return (ssize_t)n;
}

/* spool_stream_write - GMimeStreamFs's, after dropping what the buffer holds */
static ssize_t
spool_stream_write(GMimeStream *stream, const char *buf, size_t len)
{
	((SpoolStream *)stream)->blen = 0;
	return GMIME_STREAM_CLASS(spool_stream_parent_class)->write(stream, buf, len);
}

static void
spool_stream_finalize(GObject *object)
{
	g_free(((SpoolStream *)object)->buf);
	G_OBJECT_CLASS(spool_stream_parent_class)->finalize(object);
}

static void
spool_stream_class_init(SpoolStreamClass *klass)
{
	GMimeStreamClass *sc = GMIME_STREAM_CLASS(klass);

	sc->read = spool_stream_read;
	sc->write = spool_stream_write;
	G_OBJECT_CLASS(klass)->finalize = spool_stream_finalize;
}

static void
spool_stream_init(SpoolStream *s)
{
	s->buf = g_malloc(SPOOL_STREAM_BUF);
}

GMimeStream *
spool_stream_new(int fd)
{
	SpoolStream *s = g_object_new(spool_stream_get_type(), NULL);
	GMimeStreamFs *fs = (GMimeStreamFs *)s;
	off_t start = lseek(fd, 0, SEEK_CUR);

	fs->fd = fd;
	fs->owner = TRUE;
	fs->eos = FALSE;
	g_mime_stream_construct((GMimeStream *)s, start < 0 ? 0 : (gint64)start, -1);
	return (GMimeStream *)s;
}

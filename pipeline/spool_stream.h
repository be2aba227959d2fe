/*
 * spool_stream.h - a read-buffered GMime stream over a spool file for
 * GMime's parser. GMimeStreamFs does an lseek and a read(2) of the
 * parser's 4 KiB per call: 717k system calls to parse a 1.4 GB message at
 * end of message (strace). This subclass of it serves reads from a buffer
 * filled by pread(2) of SPOOL_STREAM_BUF bytes; seeks, substreams (plain
 * GMimeStreamFs on the same descriptor, as g_mime_stream_fs_new's) and the
 * rest are GMimeStreamFs's. Memory: the buffer is the stream's. Threads:
 * one thread per stream, as any GMimeStream.
 */
#ifndef OFFLOAD_SPOOL_STREAM_H
#define OFFLOAD_SPOOL_STREAM_H

#include <gmime/gmime.h>

/* spool_stream_new - a stream reading fd from its current offset on, owning
 * it (closed with the stream) like g_mime_stream_fs_new */
GMimeStream *spool_stream_new(int fd);

#endif

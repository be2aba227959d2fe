/*
 * fdio.h - small file-descriptor helpers with no mail knowledge.
 */
#ifndef OFFLOAD_FDIO_H
#define OFFLOAD_FDIO_H

#include <stddef.h>

/* fdio_write_all - write all of buf, retrying short writes and EINTR;
 * 0 or -1 (errno set) */
int fdio_write_all(int fd, const void *buf, size_t len);

#endif

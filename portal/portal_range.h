/*
 * portal_range.h - HTTP Range (RFC 9110 §14) for downloads: one range of
 * the forms bytes=a-b, bytes=a-, bytes=-n. Anything else (several ranges,
 * other units, bad syntax) is ignored and the whole file is sent, as RFC
 * 9110 allows. Pure functions, thread-safe.
 */
#ifndef OFFLOAD_PORTAL_RANGE_H
#define OFFLOAD_PORTAL_RANGE_H

#include <stdint.h>

enum portal_range_result {
	PORTAL_RANGE_NONE = 0,   /* no (usable) Range: 200 with the whole file */
	PORTAL_RANGE_OK = 1,     /* 206: bytes [*start, *start + *len) */
	PORTAL_RANGE_UNSAT = 2,  /* 416 with Content-Range: bytes * / size */
};

int portal_range_parse(const char *header, uint64_t size, uint64_t *start, uint64_t *len);

#endif

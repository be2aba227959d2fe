/*
 * filename.h - a received file name made safe to write anywhere: the last
 * path component only (no '/' or '\\'), no leading dots or blanks, control
 * characters, ':' and '"' replaced by '_', at most 200 bytes of valid UTF-8;
 * "file-N" (N = index + 1) when nothing is left. g_malloc'ed.
 */
#ifndef OFFLOAD_FILENAME_H
#define OFFLOAD_FILENAME_H

char *filename_safe(const char *name, unsigned index);

#endif

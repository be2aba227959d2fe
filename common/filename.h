/*
 * filename.h - file names as they are shown and written.
 *
 * filename_display - a received name made safe to show: valid UTF-8 with
 * every character that is invisible or reorders the text around it replaced
 * by '_' (C0 and C1 controls, DEL, the bidi controls U+061C, U+200E/F,
 * U+202A-E and U+2066-9, the other format characters such as U+200B-D,
 * U+2060-4, U+FEFF, U+00AD and tag characters, line/paragraph separators,
 * U+034F and the Hangul fillers), so "Rechnung\u202Efdp.exe" shows as
 * "Rechnung_fdp.exe", never as "Rechnungexe.pdf". Used by the notice and the
 * confirmation mails (pipeline/), and by filename_safe. g_malloc'ed.
 *
 * filename_safe - a name made safe to write anywhere (disk, ZIP member,
 * Content-Disposition, the portal page): filename_display, then the last
 * path component only (no '/' or '\\'), no leading dots or blanks, ':' and
 * '"' replaced by '_', at most 200 bytes of valid UTF-8; "file-N"
 * (N = index + 1) when nothing is left. g_malloc'ed.
 *
 * Pure functions; thread-safe.
 */
#ifndef OFFLOAD_FILENAME_H
#define OFFLOAD_FILENAME_H

#include <stdbool.h>

char *filename_display(const char *name);
char *filename_safe(const char *name, unsigned index);
/* filename_invisible - c is replaced by filename_display */
bool filename_invisible(unsigned int c);

#endif

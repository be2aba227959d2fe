/*
 * portal_zip.c - streamed stored ZIP / ZIP64 (see portal_zip.h).
 * Layout per member: local header (sizes filled in, CRC 0, flags 0x0808;
 * ZIP64 extra when the size needs it), data, data descriptor (with 8-byte
 * sizes for ZIP64 members); then the central directory, and ZIP64 end
 * records when any count, size or offset overflows the classic fields.
 */
#include "filename.h"
#include "portal_zip.h"

#include <stdbool.h>
#include <string.h>
#include <glib.h>
#include <zlib.h>

#define Z32 0xFFFFFFFFu

enum zstate { ZS_HDR, ZS_DATA, ZS_DESC, ZS_CD, ZS_DONE };

struct zmember {
	char *name;
	uint64_t size;
	uint64_t offset;
	uint32_t crc;
};

struct portal_zip {
	struct zmember *m;
	size_t n, cur;
	struct portal_zip_source src;
	void *h;                 /* open source of member cur */
	enum zstate st;
	uint64_t pos, total, got;
	uint16_t dtime, ddate;
	GByteArray *pend;
	size_t pend_off;
	uLong crc;
};

static void
le(GByteArray *a, uint64_t v, int n)
{
	unsigned char b[8];
	int i;

	for (i = 0; i < n; i++) {
		b[i] = (unsigned char)v;
		v >>= 8;
	}
	g_byte_array_append(a, b, (guint)n);
}

static bool
member_z64(const struct zmember *m)
{
	return m->size >= Z32;
}

static uint64_t
local_len(const struct zmember *m)
{
	return 30 + strlen(m->name) + (member_z64(m) ? 20 : 0);
}

static uint64_t
desc_len(const struct zmember *m)
{
	return member_z64(m) ? 24 : 16;
}

static uint64_t
central_extra_len(const struct zmember *m)
{
	uint64_t k = 0;

	if (member_z64(m))
		k += 16;
	if (m->offset >= Z32)
		k += 8;
	return k ? 4 + k : 0;
}

char *
portal_zip_safe_name(const char *name, unsigned index)
{
	return filename_safe(name, index);
}

static void
zip_dos_time(int64_t t, uint16_t *dtime, uint16_t *ddate)
{
	GDateTime *d = g_date_time_new_from_unix_utc(t < 315532800 ? 315532800 : t);

	*dtime = (uint16_t)(g_date_time_get_hour(d) << 11 | g_date_time_get_minute(d) << 5 |
		g_date_time_get_second(d) / 2);
	*ddate = (uint16_t)((g_date_time_get_year(d) - 1980) << 9 | g_date_time_get_month(d) << 5 |
		g_date_time_get_day_of_month(d));
	g_date_time_unref(d);
}

struct portal_zip *
portal_zip_new(const char *const *names, const uint64_t *sizes, size_t n, int64_t mtime,
	const struct portal_zip_source *src)
{
	struct portal_zip *z = g_new0(struct portal_zip, 1);
	GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
	uint64_t off = 0, cd = 0, cd_off;
	bool z64 = false;
	size_t i;

	z->m = g_new0(struct zmember, n ? n : 1);
	z->n = n;
	z->src = *src;
	z->pend = g_byte_array_new();
	zip_dos_time(mtime, &z->dtime, &z->ddate);
	for (i = 0; i < n; i++) {
		char *name = portal_zip_safe_name(names[i], (unsigned)i);
		int k;

		for (k = 2; g_hash_table_contains(seen, name); k++) {
			const char *dot = strrchr(name, '.');
			char *alt = dot && dot != name ?
				g_strdup_printf("%.*s-%d%s", (int)(dot - name), name, k, dot) :
				g_strdup_printf("%s-%d", name, k);

			if (!g_hash_table_contains(seen, alt)) {
				g_free(name);
				name = alt;
				break;
			}
			g_free(alt);
		}
		z->m[i].name = name;
		g_hash_table_add(seen, name);
		z->m[i].size = sizes[i];
		z->m[i].offset = off;
		off += local_len(&z->m[i]) + sizes[i] + desc_len(&z->m[i]);
		z64 = z64 || member_z64(&z->m[i]) || z->m[i].offset >= Z32;
	}
	g_hash_table_destroy(seen);
	cd_off = off;
	for (i = 0; i < n; i++)
		cd += 46 + strlen(z->m[i].name) + central_extra_len(&z->m[i]);
	z64 = z64 || n >= 0xFFFF || cd >= Z32 || cd_off >= Z32;
	z->total = cd_off + cd + (z64 ? 56 + 20 : 0) + 22;
	return z;
}

uint64_t
portal_zip_size(const struct portal_zip *z)
{
	return z->total;
}

static void
zip_local(struct portal_zip *z, const struct zmember *m)
{
	GByteArray *a = z->pend;
	bool big = member_z64(m);

	le(a, 0x04034b50, 4);
	le(a, big ? 45 : 20, 2);
	le(a, 0x0808, 2);
	le(a, 0, 2);
	le(a, z->dtime, 2);
	le(a, z->ddate, 2);
	le(a, 0, 4);
	le(a, big ? Z32 : m->size, 4);
	le(a, big ? Z32 : m->size, 4);
	le(a, strlen(m->name), 2);
	le(a, big ? 20 : 0, 2);
	g_byte_array_append(a, (const guint8 *)m->name, (guint)strlen(m->name));
	if (big) {
		le(a, 1, 2);
		le(a, 16, 2);
		le(a, m->size, 8);
		le(a, m->size, 8);
	}
}

static void
zip_desc(struct portal_zip *z, const struct zmember *m)
{
	GByteArray *a = z->pend;
	int w = member_z64(m) ? 8 : 4;

	le(a, 0x08074b50, 4);
	le(a, m->crc, 4);
	le(a, m->size, w);
	le(a, m->size, w);
}

static void
zip_central(struct portal_zip *z)
{
	GByteArray *a = z->pend;
	uint64_t cd_off = z->pos, cd_size;
	bool z64 = false;
	size_t i;

	for (i = 0; i < z->n; i++) {
		const struct zmember *m = &z->m[i];
		bool big = member_z64(m), boff = m->offset >= Z32;
		uint64_t ex = central_extra_len(m);

		z64 = z64 || big || boff;
		le(a, 0x02014b50, 4);
		le(a, 3 << 8 | 45, 2);
		le(a, big || boff ? 45 : 20, 2);
		le(a, 0x0808, 2);
		le(a, 0, 2);
		le(a, z->dtime, 2);
		le(a, z->ddate, 2);
		le(a, m->crc, 4);
		le(a, big ? Z32 : m->size, 4);
		le(a, big ? Z32 : m->size, 4);
		le(a, strlen(m->name), 2);
		le(a, ex, 2);
		le(a, 0, 2);
		le(a, 0, 2);
		le(a, 0, 2);
		le(a, (uint64_t)0100644 << 16, 4);
		le(a, boff ? Z32 : m->offset, 4);
		g_byte_array_append(a, (const guint8 *)m->name, (guint)strlen(m->name));
		if (ex) {
			le(a, 1, 2);
			le(a, ex - 4, 2);
			if (big) {
				le(a, m->size, 8);
				le(a, m->size, 8);
			}
			if (boff)
				le(a, m->offset, 8);
		}
	}
	cd_size = a->len - z->pend_off;
	z64 = z64 || z->n >= 0xFFFF || cd_size >= Z32 || cd_off >= Z32;
	if (z64) {
		uint64_t rec = cd_off + cd_size;

		le(a, 0x06064b50, 4);
		le(a, 44, 8);
		le(a, 3 << 8 | 45, 2);
		le(a, 45, 2);
		le(a, 0, 4);
		le(a, 0, 4);
		le(a, z->n, 8);
		le(a, z->n, 8);
		le(a, cd_size, 8);
		le(a, cd_off, 8);
		le(a, 0x07064b50, 4);
		le(a, 0, 4);
		le(a, rec, 8);
		le(a, 1, 4);
	}
	le(a, 0x06054b50, 4);
	le(a, 0, 2);
	le(a, 0, 2);
	le(a, z->n >= 0xFFFF ? 0xFFFF : z->n, 2);
	le(a, z->n >= 0xFFFF ? 0xFFFF : z->n, 2);
	le(a, cd_size >= Z32 ? Z32 : cd_size, 4);
	le(a, cd_off >= Z32 ? Z32 : cd_off, 4);
	le(a, 0, 2);
}

long
portal_zip_read(struct portal_zip *z, void *buf, size_t max)
{
	for (;;) {
		size_t have = z->pend->len - z->pend_off;

		if (have > 0) {
			size_t k = have < max ? have : max;

			memcpy(buf, z->pend->data + z->pend_off, k);
			z->pend_off += k;
			z->pos += k;
			if (z->pend_off == z->pend->len) {
				g_byte_array_set_size(z->pend, 0);
				z->pend_off = 0;
			}
			return (long)k;
		}
		switch (z->st) {
		case ZS_HDR:
			if (z->cur >= z->n) {
				z->st = ZS_CD;
				continue;
			}
			zip_local(z, &z->m[z->cur]);
			z->h = z->src.open(z->src.arg, (uint32_t)z->cur, z->m[z->cur].size);
			if (z->h == NULL)
				return -1;
			z->crc = crc32(0L, Z_NULL, 0);
			z->got = 0;
			z->st = ZS_DATA;
			continue;
		case ZS_DATA: {
			struct zmember *m = &z->m[z->cur];
			size_t want = max;
			long r;

			if (m->size - z->got < want)
				want = (size_t)(m->size - z->got);
			r = want > 0 ? z->src.read(z->h, buf, want) : 0;
			if (r < 0)
				return r;
			if (r == 0) {
				if (z->got != m->size)
					return -1;
				z->src.close(z->h);
				z->h = NULL;
				m->crc = (uint32_t)z->crc;
				zip_desc(z, m);
				z->cur++;
				z->st = ZS_HDR;
				continue;
			}
			z->crc = crc32(z->crc, buf, (uInt)r);
			z->got += (uint64_t)r;
			z->pos += (uint64_t)r;
			return r;
		}
		case ZS_DESC:
			z->st = ZS_HDR;
			continue;
		case ZS_CD:
			zip_central(z);
			z->st = ZS_DONE;
			continue;
		case ZS_DONE:
			return 0;
		}
	}
}

void
portal_zip_free(struct portal_zip *z)
{
	size_t i;

	if (z == NULL)
		return;
	if (z->h != NULL)
		z->src.close(z->h);
	for (i = 0; i < z->n; i++)
		g_free(z->m[i].name);
	g_free(z->m);
	g_byte_array_free(z->pend, TRUE);
	g_free(z);
}

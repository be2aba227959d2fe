/*
 * upload_link.c - uploads through a standalone upload link (issue 13,
 * FORMATS.md §6.11): "<src>/l" instead of a transfer's manifest. The link's
 * token opens it (the daemon checks the deployment key's MAC and the seal);
 * the new transfer lives [policy] retention from its start, and the mail goes
 * to the clerk the link was made for. See upload_int.h.
 */
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "encoding.h"
#include "log.h"
#include "transfer_uplink.h"
#include "upload_int.h"

int
upload_link_auth(struct upload *u, const char *src, const unsigned char tok[TRANSFER_REPLY_TOKEN_LEN],
	int64_t *expires)
{
	struct transfer_uplink l;
	int64_t now = (int64_t)time(NULL);
	int st = transfer_uplink_read(u->st, &u->dk, src, tok, &l);

	if (st != STORAGE_OK)
		return st == STORAGE_ENOENT ? 404 : st == STORAGE_EPERM ? 403 : 503;
	transfer_uplink_clear(&l);
	if (l.expires <= now)
		return 410;
	*expires = now + (int64_t)u->c->retention;
	return 0;
}

char *
upload_link_address(struct upload *u, const char *src, const char *token_text, char **note)
{
	unsigned char tok[TRANSFER_REPLY_TOKEN_LEN];
	struct transfer_uplink l = { 0 };
	char *to = NULL;

	*note = NULL;
	if (token_text != NULL && enc_b64url_decode(token_text, tok, sizeof tok) == (long)sizeof tok &&
	    transfer_uplink_read(u->st, &u->dk, src, tok, &l) == STORAGE_OK) {
		to = l.to;
		*note = l.note;
		l.to = l.note = NULL;
	}
	crypto_wipe(tok, sizeof tok);
	transfer_uplink_clear(&l);
	return to;
}

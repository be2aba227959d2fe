/*
 * storage_keyid.h - the deployment-key fingerprint object (DECISIONS.md §13):
 * one small object "keyid" at the top of the store names the key id of the
 * deployment key that wrote its transfers. A node whose key differs refuses
 * to work with that store, instead of writing transfers the other nodes
 * cannot verify (header MACs) or reading ones it cannot.
 * The key id is a hash prefix of the key (keys.h) and reveals nothing.
 */
#ifndef OFFLOAD_STORAGE_KEYID_H
#define OFFLOAD_STORAGE_KEYID_H

#include <stdbool.h>
#include <glib.h>

#include "keys.h"
#include "storage.h"

#define STORAGE_KEYID_OBJECT "keyid"

/* storage_keyid_check - 0 when the store's keyid object names dk's key id;
 * a missing object is written (create = true; read back afterwards, so two
 * nodes starting at once with different keys cannot both win) or accepted
 * (create = false). On a mismatch STORAGE_EPERM with *err saying which
 * key ids differ; a storage failure returns its code (STORAGE_ETEMP: try
 * again later) with *err. */
int storage_keyid_check(struct storage *st, const struct key32 *dk, bool create, GError **err);

/* GError code (domain STORAGE_ERROR) of a key id mismatch or a foreign
 * "keyid" object: a configuration error, never retried */
#define STORAGE_KEYID_EMISMATCH 100

/* storage_open_checked - storage_open() plus storage_keyid_check(); NULL
 * with *err (code STORAGE_ETEMP, STORAGE_EPERM or STORAGE_KEYID_EMISMATCH) */
struct storage *storage_open_checked(const struct conf *conf, const struct key32 *dk, bool create,
	GError **err);

#endif

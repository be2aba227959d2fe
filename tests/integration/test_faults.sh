#!/bin/bash
# test_faults.sh - the smoke run of tests/stress/faults.sh for `make check`: one round of each
# fault (store down, store slow, milter kill -9 mid-body and mid-upload, spool full, portal
# kill -9 mid-download, store full) with one message per round and faults lasting 1 s; the
# same assertions as the 20-round stress run (`make stress`).
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
FAULT_ROUNDS=${FAULT_ROUNDS:-1} FAULT_MSGS=${FAULT_MSGS:-1} FAULT_HOLD=${FAULT_HOLD:-1} \
	exec "$SRCDIR/tests/stress/faults.sh" "${BUILD:-$SRCDIR/build}"

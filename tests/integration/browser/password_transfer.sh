# password_transfer.sh - sourced by test_fetch.sh and test_browser.sh (after lib.sh).
# password_transfer CONF FILE NAME PORTAL_URL: compile make_password_transfer.c against
# $BUILD/liboffload.a (with the sanitizers when that library was built with them), write one
# password transfer of FILE into CONF's store; sets PT_LINK and PT_PASSWORD, or returns 1 with
# the reason in PT_ERR.
password_transfer() {
	local pkgs="gmime-3.0 glib-2.0 json-glib-1.0 openssl milter libargon2 libmicrohttpd libcurl libmagic zlib"
	local san=() out
	PT_LINK= PT_PASSWORD= PT_ERR=
	# (grep -c, not -q: with pipefail an early exit of grep would fail the pipeline)
	[ "$(nm "$BUILD/liboffload.a" 2>/dev/null | grep -c __asan_)" != 0 ] && san=(-fsanitize=address,undefined)
	if [ ! -x "$T/mkpw" ] && ! cc -std=c11 -D_GNU_SOURCE -O1 "${san[@]}" -I"$SRCDIR/common" \
		-I"$SRCDIR/storage-backend" -I"$SRCDIR/milter" -I"$SRCDIR/transfer" "$IT/browser/make_password_transfer.c" \
		"$BUILD/liboffload.a" $(pkg-config --cflags --libs $pkgs) -lpthread -o "$T/mkpw" 2> "$T/mkpw.err"; then
		PT_ERR="compiling the helper: $(grep -m1 error "$T/mkpw.err")"
		return 1
	fi
	out=$("$T/mkpw" "$@" 2> "$T/mkpw.err") || { PT_ERR=$(head -1 "$T/mkpw.err"); return 1; }
	PT_LINK=$(sed -n 1p <<<"$out") PT_PASSWORD=$(sed -n 2p <<<"$out")
	[ -n "$PT_LINK" ] && [ -n "$PT_PASSWORD" ]
}

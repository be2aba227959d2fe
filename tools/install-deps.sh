#!/bin/bash
# install-deps.sh [--demo] - install the Debian 12 packages offload needs to build, test and
# demo. --demo (make demo): only what the build and the demo need (no browser, Swift, nginx,
# packaging tools, npm).
# Idempotent and fast: asks dpkg first and only runs apt-get when something is missing.
# Must run as root on a fresh machine (CI); as non-root it only reports what is missing.
set -euo pipefail
PKGS="build-essential pkg-config libmilter-dev libssl-dev libcurl4-openssl-dev libmagic-dev
zlib1g-dev libgmime-3.0-dev libmicrohttpd-dev libjson-glib-dev libargon2-dev postfix swaks
miltertest curl mandoc python3 time tzdata"
# each feature lists its extra Debian packages in tools/deps/*.apt (one or more per line) and
# its npm packages in tools/deps/*.npm (installed into tools/node_modules via tools/package.json)
here=$(cd "$(dirname "$0")" && pwd)
demo=
[ "${1:-}" = --demo ] && demo=1
for f in "$here"/deps/*.apt; do
	[ -n "$demo" ] && break
	[ -f "$f" ] && PKGS="$PKGS $(grep -v '^#' "$f" | tr '\n' ' ')"
done
npm_install() {
	local want=() f p
	[ -n "$demo" ] && return 0
	for f in "$here"/deps/*.npm; do
		[ -f "$f" ] || continue
		for p in $(grep -v '^#' "$f"); do
			[ -d "$here/node_modules/${p%@*}" ] || want+=("$p")
		done
	done
	[ ${#want[@]} -eq 0 ] && return 0
	# Debian's nodejs comes without npm: install Debian's npm (NodeSource's nodejs has its own)
	if ! command -v npm >/dev/null && [ "$(id -u)" = 0 ]; then
		apt-get install -y -q --no-install-recommends npm
	fi
	command -v npm >/dev/null || { echo "install-deps: npm missing for ${want[*]}" >&2; return 1; }
	(cd "$here" && { [ -f package.json ] || npm init -y >/dev/null; } &&
		npm install --no-audit --no-fund --silent "${want[@]}")
}

missing=()
for p in $PKGS; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	npm_install
	echo "install-deps: all packages present"
	exit 0
fi
echo "install-deps: missing: ${missing[*]}"
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: not root; install them with: apt-get install ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# postfix asks debconf questions: "No configuration" = no /etc/postfix/main.cf, no service
# start (the tests run private instances; see tests/integration/lib.sh)
echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
echo 'postfix postfix/mailname string localhost' | debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
npm_install
echo "install-deps: done"

#!/bin/bash
# make-deb.sh VERSION - build build/offload_VERSION_amd64.deb: the tracked sources (and
# uncommitted changes) copied into build/deb/offload-VERSION/, packaging/debian as debian/,
# dpkg-buildpackage -b; then lintian (exit status reported, overrides in
# packaging/debian/offload.lintian-overrides each say why).
set -euo pipefail
cd "$(dirname "$0")/.."
ver=$1
top=build/deb
src=$top/offload-$ver
rm -rf "$top"
mkdir -p "$src"
git ls-files -co --exclude-standard | grep -v '^tests/\|^tools/bench' | tar -cf - -T - | tar -xf - -C "$src"
cp -a packaging/debian "$src/debian"
(cd "$src" && dpkg-buildpackage -b -us -uc --no-sign -j2 >../build.log 2>&1) || {
	tail -40 "$top/build.log" >&2
	exit 1
}
cp "$top/offload_${ver}_amd64.deb" build/
echo "make-deb: build/offload_${ver}_amd64.deb"
if command -v lintian >/dev/null; then
	lintian --fail-on error,warning "build/offload_${ver}_amd64.deb" && echo "make-deb: lintian clean"
fi

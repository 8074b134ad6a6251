#!/usr/bin/env bash
# Installs a build tree into a temporary prefix and builds a small program against the
# installed headers and libraries through pkg-config alone, then runs it.
# usage: check-install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
prefix=$(mktemp -d "${TMPDIR:-/tmp}/plexus-install-XXXXXX")
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" > /dev/null
pc=$(find "$prefix" -name plexus-transport.pc -printf '%h\n' | head -n 1)
[ -n "$pc" ] || { echo "no plexus-transport.pc installed under $prefix"; exit 1; }
export PKG_CONFIG_PATH=$pc
flags=$(pkg-config --cflags --libs plexus plexus-registry plexus-transport)
export LD_LIBRARY_PATH=$(pkg-config --variable=libdir plexus) # libplexus.so
cc -std=gnu17 -Wall -Wextra -Werror "$src/tests/install/uses-installed.c" -o "$prefix/uses-installed" $flags
"$prefix/uses-installed"

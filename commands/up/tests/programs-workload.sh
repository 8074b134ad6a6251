#!/bin/bash
# programs-workload.sh DIR TARBALL JOURNAL — what test-up-programs runs through the mount while
# a service is killed: real programs, each step counted only once its results were made
# durable (every file and directory fsynced: coreutils `sync FILE...`).
#   TAR-OK  the tarball extracted into DIR
#   GIT-OK  a repository made, filled, committed and checked in DIR/g
#   DD-OK   30 files written by dd with conv=fsync; JOURNAL (outside the mount) gets the
#           checksum of each one dd finished
# A step that fails says so and the next one runs anyway.
set -u
dir=$1 tarball=$2 journal=$3
cd "$dir" || exit 1
tar xf "$tarball" && find . -depth -exec sync {} + && echo TAR-OK
(git init -q g && cp -r "$(tar tf "$tarball" | head -1 | cut -d/ -f1)" g/ && cd g &&
	git add -A && git -c user.email=t@plexus -c user.name=t commit -qm one &&
	find . -depth -exec sync {} + && git fsck --no-progress && echo GIT-OK)
for i in $(seq 1 30); do
	dd if=/dev/urandom of="f$i" bs=4k count=$((1 + i % 7)) conv=fsync status=none &&
		sha256sum "f$i" >> "$journal"
done
echo DD-OK

#!/bin/sh
# test-lab.sh PLEXUS N LABS — one lab end to end, as a student meets it: `plexus lab start N`
# into a temporary directory, `plexus lab check N` on the untouched skeleton (it must fail:
# exit 1, having built, each failed check with its hint, the summary), the reference solution
# copied over, `plexus lab check N` again (it must pass: exit 0, every check, no FAIL).
# Everything goes under one temporary directory (TMPDIR too), removed even on failure.
set -u
plexus=$1 n=$2 labs=$3
top=$(mktemp -d "${TMPDIR:-/tmp}/plexus-test-lab-$n-XXXXXX") || exit 1
trap 'rm -rf "$top"' EXIT
trap 'exit 1' INT TERM
export TMPDIR="$top"
. "$labs/test-lab-output.sh"
"$plexus" lab start "$n" "$top/lab" || { echo "lab $n: start failed"; exit 1; }
"$plexus" lab check "$n" "$top/lab" >"$top/skeleton.out" 2>&1
rc=$?
cat "$top/skeleton.out"
[ "$rc" -eq 1 ] || { echo "lab $n: the skeleton's check exited $rc, not 1"; exit 1; }
grep -qx 'PASS build' "$top/skeleton.out" || { echo "lab $n: the skeleton does not build"; exit 1; }
lab_fails_with_hints "lab $n skeleton" "$top/skeleton.out" || exit 1
[ ! -e "$top/lab/solution" ] || { echo "lab $n: start copied the solution"; exit 1; }
cp -RL "$labs/$(basename "$labs"/"$n"-*)/solution/." "$top/lab/" || exit 1
"$plexus" lab check "$n" "$top/lab" >"$top/solution.out" 2>&1
rc=$?
cat "$top/solution.out"
[ "$rc" -eq 0 ] || { echo "lab $n: the solution's check exited $rc, not 0"; exit 1; }
lab_passes "lab $n solution" "$top/solution.out" || exit 1
echo "lab $n: the skeleton fails its checks, with hints; the solution passes them"

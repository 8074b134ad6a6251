#!/bin/sh
# test-lab5.sh PLEXUS LABS — lab 5 end to end, once for each fault (crash-loop, stopped, hung,
# node: a whole node of a two-node system killed; forced with PLEXUS_LAB_FAULT):
# `plexus lab start 5` into a temporary directory (a private plexus up, --port auto, its
# state under the same directory), `plexus lab check 5` on the untouched answers.txt (it must
# fail: exit 1, each failed check with its hint), the reference solution's diagnose.sh in the lab's directory, `plexus lab
# check 5` again (it must pass), `plexus lab stop 5` (the state must be gone, and a node
# failure's network namespaces with it). The system is stopped and everything removed even
# on failure.
set -u
plexus=$1 labs=$2
top=$(mktemp -d "${TMPDIR:-/tmp}/plexus-test-lab-5-XXXXXX") || exit 1
trap '"$plexus" lab stop 5 "$top/lab" >/dev/null 2>&1; rm -rf "$top"' EXIT
trap 'exit 1' INT TERM
export TMPDIR="$top"
unset PLEXUS_STATE_DIR PLEXUS_ETCD PLEXUS_CLUSTER PLEXUS_ADDR
. "$labs/test-lab-output.sh"

s_one() {
	fault=$1
	rm -rf "$top/lab"
	PLEXUS_LAB_FAULT=$fault "$plexus" lab start 5 "$top/lab" ||
		{ echo "lab 5 $fault: start failed"; return 1; }
	state=$(sed -n 's/^state=//p' "$top/lab/.lab")
	netns=$(sed -n 's/^netns //p' "$state/state")
	"$plexus" lab check 5 "$top/lab" >"$top/template.out" 2>&1
	rc=$?
	cat "$top/template.out"
	[ "$rc" -eq 1 ] || { echo "lab 5 $fault: the template's check exited $rc, not 1"; return 1; }
	lab_fails_with_hints "lab 5 $fault template" "$top/template.out" || return 1
	[ ! -e "$top/lab/diagnose.sh" ] || { echo "lab 5 $fault: start copied the solution"; return 1; }
	(cd "$top/lab" && PLEXUS="$plexus" "$labs/5-diagnose/solution/diagnose.sh" .) ||
		{ echo "lab 5 $fault: diagnose.sh failed"; return 1; }
	cat "$top/lab/answers.txt"
	"$plexus" lab check 5 "$top/lab" >"$top/solution.out" 2>&1
	rc=$?
	cat "$top/solution.out"
	[ "$rc" -eq 0 ] || { echo "lab 5 $fault: the solution's check exited $rc, not 0"; return 1; }
	lab_passes "lab 5 $fault solution" "$top/solution.out" || return 1
	"$plexus" lab stop 5 "$top/lab" || { echo "lab 5 $fault: stop failed"; return 1; }
	[ ! -e "$state" ] && [ ! -e "$top/lab/.lab" ] ||
		{ echo "lab 5 $fault: stop left $state or .lab behind"; return 1; }
	for ns in $netns; do
		! ip netns list | grep -q "^$ns\b" || { echo "lab 5 $fault: stop left netns $ns"; return 1; }
	done
	echo "lab 5 $fault: the template fails its checks, the solution passes them"
}

for fault in crash-loop stopped hung node; do
	s_one "$fault" || exit 1
done

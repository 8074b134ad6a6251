#!/bin/sh
# lab.sh start|check|stop PLEXUS DIR — lab 5, "diagnose a failure", run by `plexus lab`.
#   start: boots a private `plexus up` (its state directory under $TMPDIR, named in
#          DIR/.lab), breaks one service (a fault picked at random, or $PLEXUS_LAB_FAULT:
#          crash-loop, stopped or hung; $PLEXUS_LAB_SERVICE forces the service: log or
#          tty) or, for the fault `node` (root only: network namespaces), boots two nodes
#          and kills every process of the node running that service, waiting until RS has
#          moved it; records the truth in the state directory (lab5.truth, mode 0600),
#          where DIR does not show it; copies README.md and the answers.txt template into DIR.
#   check: grades DIR/answers.txt against the truth (`service:` is the node's name for a
#          node failure, `what:` node-down), then checks the system is healthy again: the
#          service up with a newer generation than the broken one (for a node failure every
#          service up), a write through it answered. PASS/FAIL lines; exit 0 when all pass,
#          1 when one fails, 66 when DIR holds no started lab 5, 69 when its system is not
#          running.
#   stop:  `plexus down` on the lab's system; removes its state directory and DIR/.lab.
set -u
verb=$1 plexus=$2 dir=$3
services="log tty"          # leaf drivers: nothing else fails with them
faults="crash-loop stopped hung node"
whats="crash-loop stopped hung node-down"   # answers.txt's vocabulary, in the order of faults

# The lab's own system, found by every plexus command through PLEXUS_STATE_DIR.
s_state() {
	[ -r "$dir/.lab" ] || return 1
	state=$(sed -n 's/^state=//p' "$dir/.lab")
	[ -n "$state" ] || return 1
	export PLEXUS_STATE_DIR="$state"
	unset PLEXUS_ETCD PLEXUS_CLUSTER PLEXUS_ADDR
}

# "GEN STATE" of service $1 in `plexus service list`.
s_row() {
	"$plexus" service list 2>/dev/null | awk -v l="$1" '$1==l {print $3, $4; exit}'
}

# Waits (up to $2 s) until service $1 is in state $3 with a generation above $4; sets gen.
s_wait() {
	t=0
	while [ "$t" -lt "$(($2 * 10))" ]; do
		row=$(s_row "$1")
		if [ "${row#* }" = "$3" ] && [ "${row% *}" -gt "$4" ] 2>/dev/null; then
			gen=${row% *}
			return 0
		fi
		sleep 0.1
		t=$((t + 1))
	done
	return 1
}

# The chosen fault: $PLEXUS_LAB_FAULT, else one from the clock's nanoseconds.
s_pick() {
	set -- $2
	n=$(( $(date +%s%N | sed 's/^0*//;s/^$/0/') % $# + 1 ))
	eval echo "\${$n}"
}

# Sends signal $2 to service $1 each time it is up again, until RS gives up on it.
s_loop() {
	gen=0
	i=0
	while [ "$i" -lt 8 ]; do
		s_wait "$1" 30 up "$gen" || break
		"$plexus" service kill "$1" "$2" >/dev/null || return 1
		i=$((i + 1))
		for t in $(seq 1 100); do
			row=$(s_row "$1")
			case $row in *given-up) gen=${row% *}; return 0 ;; esac
			case $row in *" up") [ "${row% *}" -gt "$gen" ] && break ;; esac
			sleep 0.1
		done
	done
	return 1
}

# The services of `plexus service list` that are not up ("LABEL STATE" lines).
s_notup() {
	"$plexus" service list 2>/dev/null | awk 'NR > 1 && NF >= 4 && $1 != "rs" && $4 != "up" {print $1, $4}'
}

# Kills every process of the network namespace of the node running service $1 (a power cut)
# and waits (up to 60 s) until RS runs $1 again with a new generation; sets node and gen
# (the generation before the cut).
s_cut() {
	row=$("$plexus" service list 2>/dev/null | awk -v l="$1" '$1==l {print $2, $3; exit}')
	node=${row% *} gen=${row#* }
	ns=$(sed -n "s/^netns \(.*-$node\)\$/\1/p" "$state/state")
	[ -n "$node" ] && [ -n "$ns" ] || return 1
	ip netns pids "$ns" | xargs -r kill -9
	g=$gen
	s_wait "$1" 60 up "$g" && gen=$g
}

s_inject() {
	case $2 in
	node) s_cut "$1" ;;
	stopped) "$plexus" service down "$1" >/dev/null && gen=$(s_row "$1" | cut -d' ' -f1) ;;
	crash-loop) s_loop "$1" KILL ;;
	hung) s_loop "$1" STOP ;;
	esac
}

s_start() {
	fault=${PLEXUS_LAB_FAULT:-}
	if [ -z "$fault" ]; then
		# the node failure needs network namespaces: root only
		if [ "$(id -u)" -eq 0 ]; then fault=$(s_pick x "$faults"); else
			fault=$(s_pick x "${faults% node}"); fi
	fi
	case " $faults " in *" $fault "*) ;; *)
		echo "plexus lab: PLEXUS_LAB_FAULT: want one of: $faults" >&2; exit 64 ;;
	esac
	[ "$fault" != node ] || [ "$(id -u)" -eq 0 ] || {
		echo "plexus lab: the node failure needs root (its nodes are network namespaces)" >&2
		exit 77
	}
	mkdir -p "$dir" && [ -z "$(ls -A "$dir")" ] || {
		echo "plexus lab: $dir is not empty; nothing was changed (give another DIR)" >&2
		exit 73
	}
	state=$(mktemp -d "${TMPDIR:-/tmp}/plexus-lab-5-XXXXXX") || exit 73
	chmod 700 "$state"
	echo "state=$state" >"$dir/.lab"
	s_state
	nodes=
	[ "$fault" = node ] && nodes="--nodes 2"
	echo "Booting a private Plexus (state directory $state) ..."
	"$plexus" up --no-tour --port auto --quiet --state-dir "$state" $nodes \
		--service-option max_restarts=3 --service-option backoff=100ms \
		--service-option backoff_cap=10s >"$state/lab-up.log" 2>&1 || {
		cat "$state/lab-up.log" >&2
		echo "plexus lab: plexus up failed (plexus lab stop 5 $dir cleans up)" >&2
		exit 69
	}
	service=${PLEXUS_LAB_SERVICE:-$(s_pick x "$services")}
	echo "Something is about to go wrong in it ..."
	s_inject "$service" "$fault" || {
		echo "plexus lab: could not break $service ($fault); plexus lab stop 5 $dir" >&2
		exit 69
	}
	probe=$service what=$fault
	[ "$fault" = node ] && service=$node what=node-down
	(umask 077 && printf 'service=%s\nwhat=%s\ngen=%s\nprobe=%s\n' "$service" "$what" "$gen" \
		"$probe" >"$state/lab5.truth")
	cp "$(dirname "$0")/skeleton/answers.txt" "$(dirname "$0")/README.md" "$dir/"
	cat <<END
Lab 5: Diagnose a failure

A Plexus runs with one fault in it. Find which service (or node) broke and how, write it in
$dir/answers.txt, and fix the system. The task is in $dir/README.md.

Point your shell at this system first (every plexus command then talks to it):
  export PLEXUS_STATE_DIR=$state
Then look around:
  plexus service list     plexus ep ls     plexus node ls     plexus ds ls
  plexus sh -c 'ls -l /dev'
  ls $state/logs/

answers.txt, one line each (what: one of $whats):
  service: LABEL (for node-down: the NODE's name)
  what: crash-loop|stopped|hung|node-down
  evidence: what you saw (not graded)

When you are ready:  plexus lab check 5 $dir
When you are done:   plexus lab stop 5 $dir
END
}

# The value of "key:" in answers.txt, trimmed.
s_answer() {
	sed -n "s/^[[:space:]]*$1[[:space:]]*:[[:space:]]*//p" "$dir/answers.txt" 2>/dev/null |
		head -n 1 | sed 's/[[:space:]]*$//'
}

# "'ANSWER' is WHY", or "nothing in answers.txt" when the answer $1 is empty.
s_said() {
	if [ -n "$1" ]; then echo "'$1' is $2"; else echo "nothing in answers.txt"; fi
}

# Writes through service $1's device; 0 when the write is answered.
s_call() {
	case $1 in log) dev=/dev/log ;; tty) dev=/dev/console ;; esac
	timeout 15 "$plexus" sh -c "echo plexus-lab-5 > $dev" >/dev/null 2>&1
}

s_check() {
	s_state && [ -r "$state/lab5.truth" ] || {
		echo "plexus lab: no lab 5 in $dir; start one with plexus lab start 5 $dir" >&2
		exit 66
	}
	probe=
	. "$state/lab5.truth"
	probe=${probe:-$service}
	"$plexus" env >/dev/null 2>&1 || {
		echo "plexus lab: the lab's Plexus is not running; plexus lab stop 5 $dir, then start again" >&2
		exit 69
	}
	t0=$(date +%s)
	echo "Lab 5: Diagnose a failure, checking $dir"
	pass=0 total=4
	a=$(s_answer service)
	if [ "$a" = "$service" ]; then
		echo "PASS service"; pass=$((pass + 1))
	else
		echo "FAIL service: $(s_said "$a" "not the broken one") (plexus service list: which one is not up, or ended how? rs.log: what did RS do?)"
	fi
	a=$(s_answer what)
	if [ "$a" = "$what" ]; then
		echo "PASS what"; pass=$((pass + 1))
	else
		echo "FAIL what: $(s_said "$a" "not what happened") (one of $whats: read STATE and LAST EXIT, and rs.log)"
	fi
	row=$(s_row "$probe")
	if [ "${row#* }" = up ] && [ "${row% *}" -gt "$gen" ] && [ -z "$(s_notup)" ]; then
		echo "PASS fixed"; pass=$((pass + 1))
	else
		echo "FAIL fixed: the broken service is not up again with a new generation, or another is not up (plexus service --help: which verb starts it?)"
	fi
	if s_call "$probe"; then
		echo "PASS works"; pass=$((pass + 1))
	else
		echo "FAIL works: a write to the broken service's device is not answered (is it up?)"
	fi
	rc=1
	if [ "$pass" -eq "$total" ]; then
		echo "$pass of $total checks pass: well done"
		rc=0
	else
		echo "$pass of $total checks pass"
	fi
	echo "(lab 5 checked in $(($(date +%s) - t0)) s)"
	exit $rc
}

s_stop() {
	s_state || { echo "plexus lab: no lab 5 system in $dir: nothing to stop"; exit 0; }
	"$plexus" down --state-dir "$state" >/dev/null 2>&1
	rm -rf "$state" "$dir/.lab"
	echo "Lab 5: the lab's Plexus is down and its state ($state) removed"
}

case $verb in
start) s_start ;;
check) s_check ;;
stop) s_stop ;;
*) echo "usage: lab.sh start|check|stop PLEXUS DIR" >&2; exit 64 ;;
esac

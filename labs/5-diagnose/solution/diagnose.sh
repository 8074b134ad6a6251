#!/bin/sh
# diagnose.sh [DIR] — lab 5's reference solution, with an operator's public commands only:
# finds the service RS does not keep up (`plexus service list`: state, last exit; rs.log for
# the story), writes DIR/answers.txt and brings the service back (`plexus service up`); or,
# when services ended with "node NAME died" (LAST EXIT), the node that died (node-down), and
# waits until RS has every service up again (it moves them, or power-cycles the node).
# The system is the one $PLEXUS_STATE_DIR names, else the one `plexus lab start` wrote in
# DIR/.lab (as its output said). $PLEXUS is the plexus command (default: plexus in PATH).
set -u
dir=${1:-.}
plexus=${PLEXUS:-plexus}
if [ -z "${PLEXUS_STATE_DIR:-}" ]; then
	PLEXUS_STATE_DIR=$(sed -n 's/^state=//p' "$dir/.lab")
	export PLEXUS_STATE_DIR
fi

# A whole node's death: services whose last exit is "node NAME died" (RS moved or restarted
# them); its answers, then every service up again (RS heals it; `plexus service up` if not).
node=$("$plexus" service list | awk 'NR > 1 && $1 != "rs" {
	for (i = 7; i < NF; i++) if ($i == "node" && $(i + 2) == "died") { print $(i + 1); exit } }')
if [ -n "$node" ]; then
	moved=$("$plexus" service list | awk -v n="$node" 'NR > 1 && $1 != "rs" && index($0, "node " n " died") {
		printf "%s%s (now on %s, generation %s)", s, $1, $2, $3; s = ", " }')
	story=$(grep -E "node $node died|node $node: power cycled|node $node is up" \
		"$PLEXUS_STATE_DIR/logs/rs.log" 2>/dev/null | sed 's/^plexus-rs [^:]*: //' |
		tail -n 3 | paste -sd ';')
	cat >"$dir/answers.txt" <<END
service: $node
what: node-down
evidence: plexus service list: $moved ended with "node $node died"; rs.log: ${story:-nothing}; plexus node ls: $("$plexus" node ls | awk -v n="$node" '$1 == n {print $1, "age", $3}')
END
	echo "diagnose: node $node died; waiting for RS to have every service up"
	for i in $(seq 300); do
		"$plexus" service list | awk 'NR > 1 && NF >= 4 && $1 != "rs" && $4 != "up" {f = 1} END {exit f}' &&
			exit 0
		sleep 0.1
	done
	"$plexus" service list | awk 'NR > 1 && NF >= 4 && $1 != "rs" && $4 != "up" {print $1}' |
		while read -r l; do "$plexus" service up "$l"; done
	exit 0
fi

# The first service whose state is not "up": "LABEL STATE LAST-EXIT...".
row=$("$plexus" service list | awk 'NR > 1 && NF >= 4 && $4 != "up" && $1 != "rs" {
	exit_ = ""; for (i = 7; i <= NF; i++) exit_ = exit_ " " $i
	print $1, $4 exit_; exit }')
[ -n "$row" ] || { echo "diagnose: every service is up; nothing found" >&2; exit 1; }
label=${row%% *}
rest=${row#* }
state=${rest%% *}
case $state in
down) what=stopped ;;
given-up)
	case $rest in
	*hung*) what=hung ;;
	*) what=crash-loop ;;
	esac ;;
*) echo "diagnose: $label is $state: not a fault this lab knows" >&2; exit 1 ;;
esac
story=$(grep -F "$label:" "$PLEXUS_STATE_DIR/logs/rs.log" 2>/dev/null | grep -E 'given-up|hung|stop|down' | tail -n 1)
cat >"$dir/answers.txt" <<END
service: $label
what: $what
evidence: plexus service list: $label $rest; rs.log: ${story:-nothing}
END
echo "diagnose: $label is $what; plexus service up $label"
"$plexus" service up "$label"

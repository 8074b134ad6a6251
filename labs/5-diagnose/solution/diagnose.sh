#!/bin/sh
# diagnose.sh [DIR] — lab 5's reference solution, with an operator's public commands only:
# finds the service RS does not keep up (`plexus service list`: state, last exit; rs.log for
# the story), writes DIR/answers.txt and brings the service back (`plexus service up`).
# The system is the one $PLEXUS_STATE_DIR names, else the one `plexus lab start` wrote in
# DIR/.lab (as its output said). $PLEXUS is the plexus command (default: plexus in PATH).
set -u
dir=${1:-.}
plexus=${PLEXUS:-plexus}
if [ -z "${PLEXUS_STATE_DIR:-}" ]; then
	PLEXUS_STATE_DIR=$(sed -n 's/^state=//p' "$dir/.lab")
	export PLEXUS_STATE_DIR
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

# test-lab-output.sh — sourced by test-lab.sh and test-lab5.sh: what a `plexus lab check` run
# must print (docs/labs.md "Labs that grade themselves").
#
# lab_fails_with_hints WHAT FILE: at least one FAIL; every FAIL line `FAIL name: hint`, the
# hint at least 20 characters; the summary `P of N checks pass` with P < N and N the number of
# PASS and FAIL lines; no "well done".
lab_fails_with_hints() {
	awk -v what="$1" '
		/^FAIL / { fails++
			hint = $0; sub(/^FAIL [a-z0-9-]+: /, "", hint)
			if (hint == $0 || length(hint) < 20) { print what ": a failure without a hint: " $0; bad = 1 } }
		/^PASS / { passes++ }
		/^[0-9]+ of [0-9]+ checks pass/ { summary = $0; p = $1; n = $3 }
		/well done/ { print what ": well done on a failing run"; bad = 1 }
		END {
			if (!fails) { print what ": no FAIL line"; exit 1 }
			if (summary == "") { print what ": no summary line"; exit 1 }
			if (p != passes || n != passes + fails) { print what ": the summary (" summary ") does not count " passes " PASS and " fails " FAIL"; exit 1 }
			exit bad
		}' "$2"
}

# lab_passes WHAT FILE: no FAIL line, at least one PASS, `N of N checks pass: well done` with
# N the number of PASS lines.
lab_passes() {
	awk -v what="$1" '
		/^FAIL / { print what ": " $0; bad = 1 }
		/^PASS / { passes++ }
		/^[0-9]+ of [0-9]+ checks pass: well done$/ { p = $1; n = $3 }
		END {
			if (!passes || p != passes || n != passes) { print what ": no \"" passes " of " passes " checks pass: well done\""; exit 1 }
			exit bad
		}' "$2"
}

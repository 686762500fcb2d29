# Shared by the CLI test scripts (sourced; $1 of the script is the wan binary): a work folder
# removed on exit, its own demo checkpoint, and ok/bad counters; `finish` prints the tally and
# sets the exit status.
set -u
WAN="$1"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export WAN_DEMO_CHECKPOINT="$work/demo-checkpoint"
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok: $1"; }
bad() { failed=$((failed + 1)); echo "FAILED: $1"; }
finish() {
  echo "$passed passed, $failed failed"
  [[ $failed -eq 0 ]]
}

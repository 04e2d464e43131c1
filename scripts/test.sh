#!/usr/bin/env bash
# Builds if needed and runs every test binary; the last line is "N passed, N failed" (test cases,
# summed over binaries; a binary that crashes or prints no summary counts as one failure).
# Usage: scripts/test.sh [--sanitize]   (--sanitize: AddressSanitizer + UBSan build in build-sanitize/)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--sanitize" ]; then
  build_dir=build-sanitize
  bash scripts/bootstrap.sh "$build_dir" -Dbuildtype=debugoptimized -Db_sanitize=address,undefined
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  # The teacher-student accuracy runs train for thousands of steps: too slow under the sanitizers,
  # and the other training tests go through the same code.
  test_arguments=(--test-case-exclude='*teacher-student*')
else
  build_dir=build
  bash scripts/bootstrap.sh "$build_dir"
  test_arguments=()
fi

passed=0
failed=0
while IFS= read -r test_binary; do
  log=$(mktemp)
  set +e
  "$test_binary" --no-intro=true "${test_arguments[@]}" >"$log" 2>&1
  status=$?
  set -e
  summary=$(grep -E '^\[doctest\] test cases:' "$log" | tail -n 1)
  binary_passed=$(sed -nE 's/.*\| *([0-9]+) passed.*/\1/p' <<<"$summary")
  binary_failed=$(sed -nE 's/.*\| *([0-9]+) failed.*/\1/p' <<<"$summary")
  if [ -z "$summary" ] || [ -z "$binary_passed" ]; then
    binary_passed=0
    binary_failed=1
  elif [ "$status" -ne 0 ] && [ "$binary_failed" -eq 0 ]; then
    binary_failed=1  # failed outside a test case (e.g. a sanitizer report at exit)
  fi
  if [ "$binary_failed" -ne 0 ]; then cat "$log"; fi
  echo "$(basename "$test_binary"): $binary_passed passed, $binary_failed failed (exit $status)"
  passed=$((passed + binary_passed))
  failed=$((failed + binary_failed))
  rm -f "$log"
done < <(meson introspect "$build_dir" --tests | python3 -c '
import json, sys
for test in json.load(sys.stdin):
    print(test["cmd"][0])')

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

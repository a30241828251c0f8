#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 in build-fuzz and runs each for SECONDS (default 20)
# from the seeds in tests/fuzz/seeds. Prints the executions and findings of each target; exits
# non-zero when any target crashed, leaked, timed out or ran out of memory (the reproducer is left
# in build-fuzz/findings/<target>/).
set -uo pipefail
seconds=${1:-20}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${AGENTGATE_FUZZ_BUILD:-$root/build-fuzz}

if ! command -v clang++-14 >/dev/null ||
   ! compgen -G "/usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" >/dev/null; then
  apt-get install -y clang-14 libclang-rt-14-dev || { echo "run.sh: cannot install clang-14" >&2; exit 2; }
fi
mkdir -p "$build"
cmake -S "$here" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log" >&2; exit 2; }
ninja -C "$build" fuzz_jws fuzz_canonical || exit 2

failed=0
for target in fuzz_jws fuzz_canonical; do
  corpus=$build/corpus/$target
  findings=$build/findings/$target
  log=$build/$target.log
  mkdir -p "$corpus" "$findings"
  dict=()
  [[ -f $here/$target.dict ]] && dict=(-dict="$here/$target.dict")
  "$build/$target" -max_len=9000 -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$findings/" "${dict[@]}" \
    "$corpus" "$here/seeds/$target" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  artifacts=$(find "$findings" -type f | wc -l)
  if [[ $rc -ne 0 || $artifacts -ne 0 ]]; then
    failed=1
    echo "$target: FOUND a problem after ${execs:-?} executions (exit $rc); see $log and $findings"
    grep -m5 -E "ERROR|SUMMARY|Test unit written" "$log" | sed 's/^/  /'
  else
    echo "$target: ${execs:-?} executions in ${seconds}s, nothing found (corpus $(ls "$corpus" | wc -l) inputs)"
  fi
done
exit $failed

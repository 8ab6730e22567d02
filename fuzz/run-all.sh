#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for a while (default 20 seconds each); a crash, a
# failed check or a timeout fails the script. Works on stable Rust (RUSTC_BOOTSTRAP=1 lets
# cargo-fuzz use the nightly flags it needs), and installs cargo-fuzz when it is missing.
#
#   fuzz/run-all.sh            # 20 s per target
#   FUZZ_SECONDS=600 fuzz/run-all.sh
#   fuzz/run-all.sh parser_differential    # one target
#
# Crashing inputs are kept in fuzz/artifacts/<target>/; replay one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run -s none <target> fuzz/artifacts/<target>/<file>
set -euo pipefail
cd "$(dirname "$0")"

seconds="${FUZZ_SECONDS:-20}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

# No sanitizer: the code under test has no unsafe, and ASan would only slow the search down.
# Release with debug assertions, so integer overflows are crashes too.
flags=(-s none -O -a)

targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi

cargo fuzz build "${flags[@]}"
for target in "${targets[@]}"; do
  echo "fuzzing $target for ${seconds}s"
  mkdir -p "corpus/$target"
  # -timeout: one input taking over 10 s is a hang; -rss_limit_mb bounds memory.
  cargo fuzz run "${flags[@]}" "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1
done
echo "fuzzing: all ${#targets[@]} targets ran ${seconds}s without a failure"

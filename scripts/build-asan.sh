#!/usr/bin/env bash
# Builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer into build-asan/ (cmake-js,
# the same CMakeLists.txt as the release build; build/ is left alone). Load it with:
#
#   LERNEN_ADDON=build-asan/Release/lernen.node LD_PRELOAD=$(gcc -print-file-name=libasan.so) \
#   ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
#   npx vitest run test/kernels test/native test/robustness/native-fuzz.test.ts
#
# Node itself is not instrumented, hence LD_PRELOAD (the ASan runtime must come first) and
# detect_leaks=0 (V8's own allocations would be reported at exit).
set -euo pipefail
cd "$(dirname "$0")/.."
out=build-asan
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
log=$(mktemp)
if ! npx cmake-js rebuild --out "$out" \
    --CDCMAKE_CXX_FLAGS="$flags" \
    --CDCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" >"$log" 2>&1; then
  tail -50 "$log"
  echo "build-asan: the sanitizer build failed (full log: $log)" >&2
  exit 1
fi
rm -f "$log"
lib="$out/Release/lernen.node"
# The binary must really carry the sanitizers (a cached non-sanitized build would prove nothing).
# (ldd's output is captured first: with pipefail, `ldd | grep -q` fails at random when grep
# exits early and ldd dies of SIGPIPE.)
deps=$(ldd "$lib")
if ! grep -q libasan <<<"$deps" || ! grep -q libubsan <<<"$deps"; then
  echo "build-asan: $lib is not linked against libasan and libubsan" >&2
  exit 1
fi
echo "build-asan: $lib (ASan + UBSan)"

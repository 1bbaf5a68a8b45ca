#!/usr/bin/env bash
# Builds the Linux BPF selftest programs (tools/testing/selftests/bpf/progs/*.c) from the Debian
# linux-source tarball with clang-19, the way the selftests Makefile does, into build/selftests/.
# They are the corpus that the llvm-objdump, loader and verifier parity tests compare against.
#
# Idempotent: the tarball is unpacked once, vmlinux.h is only rewritten when it changes, and an
# object is only rebuilt when its source is newer (failed compiles are remembered the same way).
# Some programs do not compile against a newer vmlinux.h than the tree's own; that is expected and
# only counted. Exits 0 when the toolchain or the tarball is missing, saying why.
#
# Flavours follow the Makefile's test runners: "v3" (test_progs, every program) and "v4"
# (test_progs-cpuv4). By default v4 builds only the programs whose names say they exercise
# ISA v4 forms, loops or atomics (SELFTESTS_V4_PATTERN), to keep the whole run to a few minutes.
#
# Environment: SELFTESTS_TARBALL (default /usr/src/linux-source-6.12.tar.xz), SELFTESTS_JOBS
# (default 2), SELFTESTS_FLAVORS (default "v3 v4"; "v2" is the no_alu32 runner),
# SELFTESTS_V4_PATTERN (extended regex on the program name; "." for all),
# SELFTESTS_VMLINUX_BTF (default /sys/kernel/btf/vmlinux).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/build/selftests"
tarball="${SELFTESTS_TARBALL:-/usr/src/linux-source-6.12.tar.xz}"
jobs="${SELFTESTS_JOBS:-2}"
flavors="${SELFTESTS_FLAVORS:-v3 v4}"
v4_pattern="${SELFTESTS_V4_PATTERN:-ldsx|movsx|sdiv|bswap|gotol|may_goto|arena|iters|loop|atomic}"
vmlinux_btf="${SELFTESTS_VMLINUX_BTF:-/sys/kernel/btf/vmlinux}"
clang="${CLANG:-clang-19}"

skip() {
  echo "build-selftests: skipped: $*"
  exit 0
}

command -v "$clang" >/dev/null 2>&1 || skip "$clang not installed"
command -v bpftool >/dev/null 2>&1 || skip "bpftool not installed"
[ -r "$tarball" ] || skip "$tarball not found (apt-get install linux-source-6.12)"
[ -r "$vmlinux_btf" ] || skip "$vmlinux_btf not readable (no kernel BTF to generate vmlinux.h from)"

mkdir -p "$out"
start=$SECONDS

# 1. Unpack only what the BPF programs need: the selftests themselves, libbpf's headers, the
#    tools/include UAPI copy, and the script that generates bpf_helper_defs.h.
src="$out/src"
top="$(basename "$tarball" .tar.xz)"
stamp="$out/.extracted-$(basename "$tarball")"
if [ ! -f "$stamp" ]; then
  echo "build-selftests: extracting selftests from $tarball"
  rm -rf "$src"
  mkdir -p "$src"
  tar -xJf "$tarball" -C "$src" --strip-components=1 \
    "$top/tools/testing/selftests/bpf" \
    "$top/tools/lib/bpf" \
    "$top/tools/include" \
    "$top/scripts/bpf_doc.py"
  touch "$stamp"
fi
selftests="$src/tools/testing/selftests/bpf"
apidir="$src/tools/include/uapi"

# 2. Install libbpf's headers the way `make install_headers` lays them out (include/bpf/*.h),
#    with bpf_helper_defs.h generated from this tree's UAPI header (fallback: libbpf-dev's copy).
inc="$out/include"
mkdir -p "$inc/bpf"
for h in bpf.h libbpf.h btf.h libbpf_common.h libbpf_legacy.h bpf_helpers.h bpf_tracing.h \
  bpf_endian.h bpf_core_read.h skel_internal.h libbpf_version.h usdt.bpf.h; do
  cmp -s "$src/tools/lib/bpf/$h" "$inc/bpf/$h" || cp "$src/tools/lib/bpf/$h" "$inc/bpf/$h"
done
if [ ! -s "$inc/bpf/bpf_helper_defs.h" ]; then
  if command -v python3 >/dev/null 2>&1 &&
    python3 "$src/scripts/bpf_doc.py" --header --file "$apidir/linux/bpf.h" >"$inc/bpf/.helper_defs.tmp" 2>/dev/null; then
    mv "$inc/bpf/.helper_defs.tmp" "$inc/bpf/bpf_helper_defs.h"
  elif [ -r /usr/include/bpf/bpf_helper_defs.h ]; then
    echo "build-selftests: python3 unavailable, using libbpf-dev's bpf_helper_defs.h"
    cp /usr/include/bpf/bpf_helper_defs.h "$inc/bpf/bpf_helper_defs.h"
  else
    skip "cannot generate bpf_helper_defs.h (no python3, no libbpf-dev)"
  fi
fi

# 3. vmlinux.h from the running kernel's BTF; rewritten only when the text changes so that objects
#    stay up to date across runs.
bpftool btf dump file "$vmlinux_btf" format c >"$inc/.vmlinux.h.tmp"
if cmp -s "$inc/.vmlinux.h.tmp" "$inc/vmlinux.h"; then
  rm "$inc/.vmlinux.h.tmp"
else
  mv "$inc/.vmlinux.h.tmp" "$inc/vmlinux.h"
fi

# 4. Flags, as in the selftests Makefile (BPF_CFLAGS + CLANG_CFLAGS + the per-flavour build rule).
sys_includes="$("$clang" -v -E - </dev/null 2>&1 |
  sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }' | tr '\n' ' ')"
base_flags="-g -Wall -Werror -D__TARGET_ARCH_x86 -mlittle-endian -I$inc -I$selftests -I$apidir \
-Wno-compare-distinct-pointer-types $sys_includes"

# Per-file extra flags (`progs/foo.c-CFLAGS := ...` lines of the Makefile, clang flavours only).
per_file="$out/per-file-cflags"
sed -n 's/^progs\/\([^ ]*\.c\)-CFLAGS[ ]*:=[ ]*\(.*\)$/\1 \2/p' "$selftests/Makefile" >"$per_file"

compile_one() {
  # $1 = flavor, $2 = source path. Writes obj/<flavor>/<name>.bpf.o or a .failed marker with the log.
  local flavor="$1" c="$2" name extra mcpu defs obj
  name="$(basename "$c" .c)"
  obj="$OBJDIR/$flavor/$name.bpf.o"
  extra="$(awk -v f="$name.c" '$1 == f { $1 = ""; print }' "$PER_FILE")"
  case "$flavor" in
  v3) mcpu=v3 defs="-DENABLE_ATOMICS_TESTS" ;;
  v2) mcpu=v2 defs="" ;;
  v4) mcpu=v4 defs="-DENABLE_ATOMICS_TESTS" ;;
  *) echo "unknown flavor $flavor" >&2; return 1 ;;
  esac
  # shellcheck disable=SC2086
  if (cd "$SELFTESTS" && "$CLANG" $BASE_FLAGS $defs $extra -O2 --target=bpf -c "$c" -mcpu=$mcpu \
    -o "$obj.tmp") >"$obj.log" 2>&1; then
    mv "$obj.tmp" "$obj"
    rm -f "$obj.log" "$obj.failed"
  else
    rm -f "$obj.tmp" "$obj"
    mv "$obj.log" "$obj.failed"
  fi
}
export -f compile_one
export OBJDIR="$out/obj" PER_FILE="$per_file" SELFTESTS="$selftests" CLANG="$clang" BASE_FLAGS="$base_flags"

# 5. Compile what is missing or stale, in parallel. A program is up to date when its .o (or its
#    .failed marker) is newer than the source, every progs/*.h, and vmlinux.h.
newest_dep="$(ls -t "$selftests"/progs/*.h "$inc/vmlinux.h" "$inc"/bpf/*.h | head -1)"
for flavor in $flavors; do
  mkdir -p "$out/obj/$flavor"
  todo="$out/obj/$flavor/.todo"
  : >"$todo"
  for c in "$selftests"/progs/*.c; do
    name="$(basename "$c" .c)"
    if [ "$flavor" = v4 ] && ! [[ "$name" =~ $v4_pattern ]]; then continue; fi
    obj="$out/obj/$flavor/$name.bpf.o"
    mark="$obj"
    [ -f "$mark" ] || mark="$obj.failed"
    if [ ! -f "$mark" ] || [ "$c" -nt "$mark" ] || [ "$newest_dep" -nt "$mark" ]; then
      echo "$c" >>"$todo"
    fi
  done
  n_todo="$(wc -l <"$todo")"
  if [ "$n_todo" -gt 0 ]; then
    echo "build-selftests: compiling $n_todo programs (-mcpu=$flavor, $jobs jobs)"
    # compile_one never fails, so xargs keeps going; the markers carry the outcome.
    xargs -a "$todo" -P "$jobs" -I{} bash -c 'compile_one "$0" "$1"' "$flavor" {}
  fi
  rm -f "$todo"
  ok="$(find "$out/obj/$flavor" -maxdepth 1 -name '*.bpf.o' | wc -l)"
  failed="$(find "$out/obj/$flavor" -maxdepth 1 -name '*.bpf.o.failed' | wc -l)"
  echo "build-selftests: -mcpu=$flavor: built $ok objects, $failed failed to compile (logs: build/selftests/obj/$flavor/*.failed)"
done
# 6. Linked objects, as the Makefile's skeleton rule makes them: `bpftool gen object` over the
#    multi-object sets it lists (`foo.skel.h-deps := a.bpf.o b.bpf.o`), so the corpus also has
#    the linker's layout (merged sections, .BTF and .BTF.ext). SELFTESTS_LINK_ALL=1 also links
#    every single v3 object on its own.
if [[ " $flavors " == *" v3 "* ]]; then
  mkdir -p "$out/obj/linked"
  linked=0
  link_failed=0
  link() {
    # $1 = output name, rest = input object names (relative to obj/v3)
    local name="$1" target="$out/obj/linked/$1.linked.o" inputs=() newest="" dep
    shift
    for dep in "$@"; do
      [ -f "$out/obj/v3/$dep" ] || return 0
      inputs+=("$out/obj/v3/$dep")
    done
    newest="$(ls -t "${inputs[@]}" | head -1)"
    if [ ! -f "$target" ] || [ "$newest" -nt "$target" ]; then
      if bpftool gen object "$target.tmp" "${inputs[@]}" >/dev/null 2>&1; then
        mv "$target.tmp" "$target"
      else
        rm -f "$target.tmp" "$target"
        link_failed=$((link_failed + 1))
        return 0
      fi
    fi
    linked=$((linked + 1))
  }
  while read -r skel deps; do
    # shellcheck disable=SC2086 # deps is a list of object names
    link "${skel%.skel.h-deps}" $deps
  done < <(sed -n 's/^\([a-z0-9_]*\.skel\.h-deps\)[ ]*:=[ ]*\(.*\)$/\1 \2/p' "$selftests/Makefile")
  if [ "${SELFTESTS_LINK_ALL:-0}" = 1 ]; then
    for o in "$out"/obj/v3/*.bpf.o; do
      name="$(basename "$o" .bpf.o)"
      link "$name.single" "$name.bpf.o"
    done
  fi
  echo "build-selftests: linked $linked objects with bpftool gen object, $link_failed failed"
fi
echo "build-selftests: done in $((SECONDS - start)) s"

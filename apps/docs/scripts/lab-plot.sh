#!/usr/bin/env bash
# Regenerates apps/docs/public/lab-failure-rate.svg, the plot of apps/docs/guide/lab.md, with the lab's
# own SVG writer. The arguments are kept in one place (LAB_PLOT_ARGS) so the CLI test can check that the
# committed plot is what this command draws today.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
out="${1:-$root/apps/docs/public/lab-failure-rate.svg}"
cd "$root"
# LAB_PLOT_ARGS
pnpm -s bpfkit lab --kernel 6.18 --cpus 2 --duration 0.5 --nmi-iters 16 \
  --sweep 100,300,1000,3000,10000,30000,100000 --bursts 16 --seed 1 --plot "$out" >/dev/null
echo "wrote $out"

#!/usr/bin/env bash
# Runs the results of docs/results/memnet.md on two lanes (one per core). Logs in runs/*.log.
cd "$(dirname "$0")/.."
( for s in 1 2 3; do nice -n 5 scripts/memnet-babi-results.sh joint $s > runs/joint-s$s.log 2>&1; done ) &
( nice -n 5 scripts/memnet-babi-results.sh per-task 1 > runs/per-task-s1.log 2>&1
  nice -n 5 scripts/memnet-babi-results.sh per-task-10k 1 > runs/per-task-10k-s1.log 2>&1
  for s in 2 3; do nice -n 5 scripts/memnet-babi-results.sh per-task $s > runs/per-task-s$s.log 2>&1; done ) &
wait

#!/usr/bin/env bash
# Fuzzes every target in turn, one process at a time at the lowest priority, for the seconds
# given per target (default 300 each), from fuzz/corpus/<target> plus fuzz/seeds/<target>.
# Crashes land in fuzz/artifacts/<target>/; each run's log in fuzz/logs/<target>.log.
#   fuzz/run-all.sh                      every target, 300 s each
#   fuzz/run-all.sh mp4_read=3600        one target for an hour
# Build first: (cd fuzz && cargo +nightly fuzz build -s none -a)
set -euo pipefail
cd "$(dirname "$0")"
bin=target/x86_64-unknown-linux-gnu/release
all=(mp4_read camera_listing telemetry motion_csv pairing_camera pairing_phone ble_control auth_header cloud_sidecar novatek_listing blackvue_listing ts_read)
specs=("$@")
((${#specs[@]})) || for t in "${all[@]}"; do specs+=("$t=300"); done
mkdir -p logs
for spec in "${specs[@]}"; do
  t=${spec%%=*}; secs=${spec#*=}
  mkdir -p "corpus/$t" "artifacts/$t" "seeds/$t"
  echo "==> $t for ${secs}s"
  nice -n 19 "$bin/$t" -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=1024 \
    -timeout=10 -artifact_prefix="artifacts/$t/" "corpus/$t" "seeds/$t" >"logs/$t.log" 2>&1 || true
  grep -E "^#[0-9]+.*DONE|stat::number_of_executed_units|cov:" "logs/$t.log" | tail -2
done

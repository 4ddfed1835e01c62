#!/usr/bin/env bash
# Index the sample footage, then search it by description (English and Vietnamese) and by photo.
# Usage: samples/demo.sh [FOOTAGE_DIR]   (models: $FORENSIC_MODELS, index: $FORENSIC_INDEX)
set -euo pipefail
footage="${1:-../shared/footage}"
forensic="${FORENSIC_BIN:-.venv/bin/forensic}"
export FORENSIC_CAMERAS="${FORENSIC_CAMERAS:-$(dirname "$0")/cameras.toml}"   # names the dev clips' places

run() { printf '\n$ forensic %s\n' "$*"; "$forensic" "$@"; }

run index "$footage"
run search "xe máy màu đỏ" --limit 5
run search "red motorbike" --limit 5
run search "xe máy màu đỏ gần ngã tư Trực Cát" --limit 5
run search "white car" --limit 5
run search "người mặc áo trắng" --limit 5
for photo in white_suv_everest.png man_red_navy_jacket.png; do   # where else do they appear?
  if [ -f "$footage/photos/$photo" ]; then
    run search --image "$footage/photos/$photo" --limit 5
  fi
done
report="${DEMO_REPORT:-demo-report.html}"   # never inside the index folder (refused there); replaced on a rerun
run search "xe máy màu đỏ" --limit 12 --html "$report" --force
run cameras

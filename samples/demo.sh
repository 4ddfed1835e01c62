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
if [ -f "$footage/photos/rider_red_jacket_blue_helmet.png" ]; then
  run search --image "$footage/photos/rider_red_jacket_blue_helmet.png" --limit 5
fi
run cameras

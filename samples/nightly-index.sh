#!/usr/bin/env bash
# Nightly job: index the day's DVR/NVR exports. Safe to run again and again: files already
# indexed are skipped, files still being copied are left for the next run, a crashed run is
# cleaned up and redone, and a second copy of this job waits instead of writing at the same time.
#
# Exit code (from forensic index): 0 all fine, 1 some files failed (see the log), 2 usage/config error.
set -u
EXPORTS="${EXPORTS:-/srv/cctv/exports}"                 # where the recorders' exports land
export FORENSIC_INDEX="${FORENSIC_INDEX:-/srv/cctv/forensic-index}"
export FORENSIC_MODELS="${FORENSIC_MODELS:-/srv/cctv/models}"   # yolo11n.pt (+ optional clip/)
LOG="${LOG:-/var/log/forensic/index.log}"
FORENSIC="${FORENSIC:-forensic}"

mkdir -p "$(dirname "$LOG")"
"$FORENSIC" --log-file "$LOG" --log-format json index --wait "$EXPORTS"
status=$?
# Keep 90 days of footage in the index (rows, vectors and thumbnails; space is reclaimed).
"$FORENSIC" --log-file "$LOG" prune --older-than 90d --yes --wait >/dev/null || status=2
exit $status

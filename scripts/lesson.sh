#!/usr/bin/env bash
# Set up (if needed) and render the default lesson into out/lesson/ (720p30 for speed; add --quality high for 1080p60).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/kdanim render --tau 3 --alpha 0.5 --quality medium --out out/lesson "$@"

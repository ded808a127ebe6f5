#!/usr/bin/env bash
# adolfd vs Celery 5 (prefork c=2, threads c=50) vs bare ARQ, side by side: builds Celery in its own virtual
# environment (never a dependency of adolfd), then runs bench/compare.py on a private redis-server.
#   bench/compare.sh [compare.py options, e.g. --rounds 3 --jobs 20000]
# CELERY_VENV (default /var/tmp/adolfd-bench-celery) holds the Celery environment; it is reused when present.
set -euo pipefail
cd "$(dirname "$0")/.."
CELERY_VENV=${CELERY_VENV:-/var/tmp/adolfd-bench-celery}
if [ ! -x "$CELERY_VENV/bin/celery" ]; then
  echo "building Celery 5 in $CELERY_VENV" >&2
  python3 -m venv "$CELERY_VENV"
  "$CELERY_VENV/bin/pip" install -q "celery[redis]>=5,<6"
fi
"$CELERY_VENV/bin/celery" --version >&2
[ -x .venv/bin/python ] || ./dev.sh test tests/test_cron_table.py >/dev/null
exec .venv/bin/python bench/compare.py --celery-python "$CELERY_VENV/bin/python" "$@"

#!/usr/bin/env bash
# Check the adolfd units before installing them; exits non-zero on any problem.
#   1. `systemd-analyze verify` on every unit (and each worker group instance) with the shared drop-in, in a
#      temporary unit directory where ExecStart points at a stub, so it passes without /opt/adolfd.
#      verify exits 0 on mere warnings (unknown keys, bad values), so any output counts as a failure.
#   2. `systemd-analyze security --offline` exposure of each service must stay at or below $MAX_EXPOSURE.
#   3. adolfd.env.example holds only KEY=value lines systemd's EnvironmentFile= accepts, and it loads into
#      adolfd.settings together with a credential named as LoadCredential= names it.
#   4. adolfd.sysusers and adolfd.tmpfiles apply cleanly in a scratch root.
#   5. mdwe_check.py: the venv works under MemoryDenyWriteExecute=yes (skipped if the kernel cannot say).
#   6. Secrets reach the production units only: each of them loads /etc/adolfd/credentials and adolfd.env; the
#      sandbox unit, with every drop-in that applies to it, loads no credential and no file but sandbox.env.
# Usage: systemd/verify.sh            ADOLFD_PYTHON=/opt/adolfd/venv/bin/python systemd/verify.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
python="${ADOLFD_PYTHON:-$repo/.venv/bin/python}"
groups=(logistic watcher marketing reputation carsbot operations)
MAX_EXPOSURE="${MAX_EXPOSURE:-2.0}"
failures=0

fail() { echo "verify: FAIL: $*" >&2; failures=$((failures + 1)); }

if ! command -v systemd-analyze >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get install -y --no-install-recommends systemd >/dev/null
    else
        echo "verify: systemd-analyze missing (apt-get install systemd)" >&2
        exit 2
    fi
fi
echo "verify: $(systemd-analyze --version | head -1)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
units="$tmp/units"
mkdir -p "$units" "$tmp/bin"
cp -r "$here"/adolfd-*.service "$here"/adolfd.target "$here"/adolfd-.service.d "$units"/
printf '#!/bin/sh\nexit 0\n' > "$tmp/bin/adolfd"
chmod +x "$tmp/bin/adolfd"
for unit in "$units"/*.service; do
    grep -q '^ExecStart=/opt/adolfd/venv/bin/adolfd ' "$unit" || fail "$(basename "$unit"): ExecStart is not /opt/adolfd/venv/bin/adolfd"
    sed -i "s#/opt/adolfd/venv/bin/adolfd#$tmp/bin/adolfd#g" "$unit"
done
for group in "${groups[@]}"; do
    ln -s 'adolfd-worker@.service' "$units/adolfd-worker@$group.service"
done

# Every service is bounded in memory (MemoryMax=): a leak or a huge reply ends in a restart, not a starved host.
for unit in "$here"/adolfd-*.service; do
    grep -qE '^MemoryMax=[0-9]+[KMG]$' "$unit" || fail "$(basename "$unit"): no MemoryMax="
done

# Secrets: the production units load them, the sandbox unit (drop-ins included) never does.
for unit in adolfd-worker@.service adolfd-bot.service adolfd-carsbot-bot.service adolfd-migrate.service; do
    grep -qx 'LoadCredential=ADOLFD:/etc/adolfd/credentials' "$here/$unit" || fail "$unit: does not load /etc/adolfd/credentials"
    grep -qx 'EnvironmentFile=-/etc/adolfd/adolfd.env' "$here/$unit" || fail "$unit: does not read /etc/adolfd/adolfd.env"
done
sandbox_config="$(cat "$here/adolfd-sandbox.service" "$here"/adolfd-.service.d/*.conf \
                  "$here"/adolfd-sandbox.service.d/*.conf 2>/dev/null || true)"
if grep -E '^[[:space:]]*(LoadCredential|LoadCredentialEncrypted|SetCredential|SetCredentialEncrypted|ImportCredential|PassEnvironment)=' <<<"$sandbox_config" >&2; then
    fail "adolfd-sandbox.service would receive credentials"
fi
if grep -E '^[[:space:]]*EnvironmentFile=' <<<"$sandbox_config" | grep -vx 'EnvironmentFile=/etc/adolfd/sandbox.env' >&2; then
    fail "adolfd-sandbox.service would read an environment file other than /etc/adolfd/sandbox.env"
fi
if grep -E '^[[:space:]]*Environment=.*ADOLFD_' <<<"$sandbox_config" >&2; then
    fail "adolfd-sandbox.service sets adolfd settings outside sandbox.env"
fi

# Every worker group the target wants must be a known group.
for wanted in $(sed -n 's/^Wants=//p' "$here/adolfd.target"); do
    case "$wanted" in
        adolfd-worker@*.service)
            group="${wanted#adolfd-worker@}"; group="${group%.service}"
            [[ " ${groups[*]} " == *" $group "* ]] || fail "adolfd.target wants unknown worker group $group" ;;
    esac
done

check_units=(adolfd.target adolfd-migrate.service adolfd-bot.service adolfd-carsbot-bot.service
             adolfd-sandbox.service)
for group in "${groups[@]}"; do check_units+=("adolfd-worker@$group.service"); done

cd "$units"
for unit in "${check_units[@]}"; do
    if ! output="$(SYSTEMD_UNIT_PATH="$units:" systemd-analyze verify --man=no "$unit" 2>&1)"; then
        fail "$unit: systemd-analyze verify failed"
    fi
    if [ -n "$output" ]; then
        echo "$output" | sed "s#$tmp/##g" >&2
        fail "$unit: systemd-analyze verify reported problems"
    else
        echo "verify: $unit ok"
    fi
done

for unit in adolfd-migrate.service adolfd-bot.service adolfd-carsbot-bot.service adolfd-sandbox.service \
            adolfd-worker@marketing.service; do
    if ! output="$(SYSTEMD_UNIT_PATH="$units:" systemd-analyze security --offline=yes --no-pager \
            --threshold="$(awk "BEGIN{print int($MAX_EXPOSURE * 10)}")" "$unit" 2>&1)"; then
        echo "$output" | grep -E '^✗' | head -20 >&2 || true
        fail "$unit: exposure above $MAX_EXPOSURE"
    fi
    echo "verify: $unit $(echo "$output" | grep -o 'Overall exposure level.*' | sed 's/for [^:]*: //')"
done

# The service account and directories, created in a scratch root exactly as on a host.
if [ "$(id -u)" = 0 ]; then
    mkdir -p "$tmp/root/etc"
    if ! output="$(systemd-sysusers --root="$tmp/root" "$here/adolfd.sysusers" 2>&1 &&
                   systemd-tmpfiles --root="$tmp/root" --create "$here/adolfd.tmpfiles" 2>&1)"; then
        echo "$output" >&2
        fail "adolfd.sysusers / adolfd.tmpfiles"
    elif [ "$(stat -c %U:%a "$tmp/root/etc/adolfd/credentials" 2>/dev/null)" != "root:700" ]; then
        fail "/etc/adolfd/credentials would not be root-only"
    else
        echo "verify: sysusers and tmpfiles ok"
    fi
else
    echo "verify: not root, sysusers/tmpfiles not checked"
fi

bad_env="$(grep -nvE '^[[:space:]]*(#.*)?$|^[A-Z][A-Z0-9_]*=' "$here/adolfd.env.example" || true)"
[ -z "$bad_env" ] || fail "adolfd.env.example lines systemd would not read: $bad_env"

# The example env file and a credential named the way LoadCredential=ADOLFD:/etc/adolfd/credentials names
# it ("ADOLFD_" + file name) must both reach adolfd's settings.
if [ -x "$python" ]; then
    mkdir -p "$tmp/credentials"
    printf 'sekret-from-credential\n' > "$tmp/credentials/ADOLFD_CREDENTIALS__OZON_SELLER__OHANA_MARKET__API_KEY"
    if ! output="$(cd "$repo" && env -i PATH="$PATH" PYTHONPATH="$repo" CREDENTIALS_DIRECTORY="$tmp/credentials" \
            bash -c 'set -a; . "$1"; set +a; exec "$2" -c "$3"' _ "$here/adolfd.env.example" "$python" '
from adolfd.settings import load_settings
s = load_settings()
key = s.account("ozon_seller", "ohana_market").api_key.get_secret_value()
assert key == "sekret-from-credential", "credential file not read"
assert s.ops.admin_ids and s.ops.alert_chats[0].role == "admin", "admin ids / alert chats not parsed"
print("settings ok:", ",".join(s.brands))' 2>&1)"; then
        echo "$output" | tail -5 >&2
        fail "adolfd.env.example or the credential naming does not load into adolfd.settings"
    else
        echo "verify: $output"
    fi
fi

if [ -x "$python" ]; then
    set +e
    (cd "$repo" && PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" "$python" "$here/mdwe_check.py")
    rc=$?
    set -e
    case "$rc" in
        0) ;;
        2) echo "verify: MemoryDenyWriteExecute not checked on this kernel" ;;
        *) fail "the venv needs writable+executable memory: drop MemoryDenyWriteExecute=yes or the module" ;;
    esac
else
    echo "verify: no python at $python, MemoryDenyWriteExecute not checked"
fi

if [ "$failures" -gt 0 ]; then
    echo "verify: $failures problem(s)" >&2
    exit 1
fi
echo "verify: all units ok"

#!/usr/bin/env bash
# Try Boucle on this machine with one command: builds the relay and the desktop app,
# starts a relay on 127.0.0.1:4433 (data in ./relay-data, kept between runs), opens the
# app with that relay prefilled, and stops the relay when the app closes. A second run
# while the first is open uses the same relay. Works with CARGO_TARGET_DIR set; every
# run uses the same access token (kept in relay-data/try-token).
#
#   bash client-desktop/try.sh                 # profile in ~/.local/share/boucle
#   bash client-desktop/try.sh --profile DIR   # another profile (e.g. a second person)
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -p boucle-relay -p boucle-desktop
# Where cargo put them: CARGO_TARGET_DIR, a target-dir in a cargo config, or ./target.
target=$(cargo metadata --format-version 1 --no-deps 2>/dev/null |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
target=${target:-${CARGO_TARGET_DIR:-target}}
relay=$target/release/boucle-relay
app=$target/release/boucle-desktop
data=${BOUCLE_RELAY_DATA:-relay-data}
listen=127.0.0.1:4433
log=$(mktemp)
relay_pid=
cleanup() {
    if [[ -n $relay_pid ]]; then
        kill "$relay_pid" 2>/dev/null || true
        rm -f "$data/try-address"
    fi
    rm -f "$log"
}
trap cleanup EXIT

if [[ -s $data/try-address ]] && read -r other_pid address <"$data/try-address" &&
    kill -0 "$other_pid" 2>/dev/null; then
    # Started by another try.sh that is still running.
    :
else
    "$relay" --data-dir "$data" serve --listen "$listen" >"$log" 2>&1 &
    relay_pid=$!
    address=
    for _ in $(seq 100); do
        address=$(sed -n 's/^relay address: //p' "$log" | tail -1)
        [[ $address == *"$listen"* ]] && break
        address=
        if ! kill -0 "$relay_pid" 2>/dev/null; then
            relay_pid=
            echo "The relay did not start:" >&2
            cat "$log" >&2
            exit 1
        fi
        sleep 0.1
    done
    if [[ -z $address ]]; then
        echo "The relay did not say its address within 10 s:" >&2
        cat "$log" >&2
        exit 1
    fi
    echo "$relay_pid $address" >"$data/try-address"
fi
# An access token lets the app create its mailboxes on this relay: made on the first
# run, kept in the data directory (readable by this user only) and used again by the
# next runs, made anew only if it was revoked.
token_file=$data/try-token
token=
tokens=$("$relay" --data-dir "$data" token list --json)
if [[ -s $token_file ]] && read -r token token_id <"$token_file" &&
    [[ -n $token_id && $tokens == *"\"id\":\"$token_id\""* ]]; then
    :
else
    made=$("$relay" --data-dir "$data" token create --label "desktop (try.sh)")
    token=$(sed -n 's/^access token: //p' <<<"$made")
    token_id=$(sed -n 's/^id: \([0-9a-f]*\).*/\1/p' <<<"$made")
    (
        umask 077
        echo "$token $token_id" >"$token_file"
    )
fi
echo "relay on this machine: $address"
BOUCLE_RELAY="$address" BOUCLE_RELAY_TOKEN="$token" "$app" "$@"

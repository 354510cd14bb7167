#!/usr/bin/env bash
# Try Boucle on this machine with one command: builds the relay and the desktop app,
# starts a relay on 127.0.0.1:4433 (data in ./relay-data, kept between runs), opens the
# app with that relay prefilled, and stops the relay when the app closes. A second run
# while the first is open uses the same relay.
#
#   bash client-desktop/try.sh                 # profile in ~/.local/share/boucle
#   bash client-desktop/try.sh --profile DIR   # another profile (e.g. a second person)
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -p boucle-relay -p boucle-desktop
relay=./target/release/boucle-relay
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
# A fresh access token lets the app create its mailboxes on this relay.
token=$("$relay" --data-dir "$data" token create --label "desktop (try.sh)" |
    sed -n 's/^access token: //p')
echo "relay on this machine: $address"
BOUCLE_RELAY="$address" BOUCLE_RELAY_TOKEN="$token" ./target/release/boucle-desktop "$@"

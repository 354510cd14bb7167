#!/usr/bin/env bash
# Takes the screenshots in this folder from the real window under Xvfb: a relay on
# 127.0.0.1, four demo profiles (examples/demo.rs), then the app on Alice's profile and
# last on Omar's, driven with xdotool. Look at every PNG afterwards: window screenshots are for people,
# not byte comparisons.
#
#   apt-get install -y xvfb xdotool x11-utils imagemagick libxkbcommon-x11-0 \
#       libxcursor1 libxi6 libx11-xcb1
#   cargo build -p boucle-relay && cargo build -p boucle-desktop --bins --example demo
#   client-desktop/docs/screenshots/take.sh
#
# CARGO_TARGET_DIR is honoured; DISPLAY_NUMBER (default 99) picks the Xvfb display.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
bin=${CARGO_TARGET_DIR:-$root/target}/debug
work=$(mktemp -d)
export DISPLAY=":${DISPLAY_NUMBER:-99}"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# The relay (an open one: no access token), on a port it picks and keeps.
"$bin/boucle-relay" --data-dir "$work/relay" init --listen 127.0.0.1:0 --open >/dev/null
"$bin/boucle-relay" --data-dir "$work/relay" serve --listen 127.0.0.1:0 \
    >"$work/relay.out" 2>"$work/relay.err" &
relay_pid=$!
pids+=("$relay_pid")
for _ in $(seq 100); do grep -q '^relay address: ' "$work/relay.out" && break; sleep 0.1; done
address=$(sed -n 's/^relay address: //p' "$work/relay.out")
port=$(sed -n 's/^listening on 127.0.0.1://p' "$work/relay.out")

"$bin/examples/demo" "$address" "$work"

if xdpyinfo >/dev/null 2>&1; then
    echo "display $DISPLAY is in use: set DISPLAY_NUMBER" >&2
    exit 1
fi
Xvfb "$DISPLAY" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done

app_pid=
window=
start() { # start PROFILE [ENV...]: the app on a profile, focused
    env "${@:2}" "$bin/boucle-desktop" --profile "$1" >"$work/app.log" 2>&1 &
    app_pid=$!
    pids+=("$app_pid")
    window=$(xdotool search --sync --name Boucle | head -1)
    xdotool windowfocus --sync "$window"
    sleep 1
}
stop() { kill "$app_pid"; wait "$app_pid" 2>/dev/null || true; }
shot() { sleep "${2:-1}"; import -window "$window" "$here/$1.png"; echo "$1.png"; }
click() { xdotool mousemove "$1" "$2" click 1; }
write() { xdotool type --delay 15 "$1"; }

# First run: the onboarding form, filled in (the relay prefilled from this machine).
start "$work/new" BOUCLE_RELAY="$address" BOUCLE_INSECURE_FAST_KDF=1
write "Alice"
xdotool key Tab
write "river lamp orange"
xdotool key Tab
write "river lamp orange"
shot onboarding
stop

# Later runs: a wrong passphrase says so.
mkdir -p "$work/home/Downloads"
start "$work/alice" HOME="$work/home"
write "not my passphrase"
xdotool key Return
shot unlock-wrong-passphrase 2

# The right one: the conversation list, with a loop. (The app's home is a folder of
# its own, where the agenda is exported.)
write "demo passphrase"
xdotool key Return
shot list 3

# Ctrl+Down opens the first conversation (Nadia); a click on her last message shows its
# actions (reply, reactions; edit and delete on our own).
xdotool key ctrl+Down
sleep 1
click 437 395
shot conversation

# Reply: the banner above the composer, and a draft.
click 352 450
write "I'll ask him for fifty more."
shot reply

# The safety number with Omar, not verified yet (Ctrl+Down: the next conversation; the
# header's Verify button).
xdotool key Escape
xdotool key ctrl+Down
sleep 1
click 1055 35
shot safety-number 2

# An invitation (Ctrl+N): the link and its QR code.
xdotool key ctrl+n
shot invite 2

# Escape goes back to Omar; the loop is next in the list; then its members and settings.
xdotool key Escape
sleep 1
xdotool key ctrl+Down
shot loop 2
click 1000 35
shot loop-management 2

# Back in the loop (Escape): its poll, everyone's votes, Alice's choice outlined.
xdotool key Escape
xdotool mousemove 150 650
shot poll 2

# A new poll (the button under the composer): a question, three options, closing in a
# day.
click 950 695
sleep 1
write "Which banner slogan for the march?"
xdotool key Tab
write "Housing is a right"
xdotool key Tab
write "Rent strike now"
click 373 314
sleep 0.5
write "Homes, not profits"
click 552 497
xdotool mousemove 150 650
shot new-poll

# Omar's event in his conversation with Alice, who is going (Escape: back to the loop;
# Ctrl+Up: Omar, above it in the list).
xdotool key Escape
sleep 1
xdotool key ctrl+Up
xdotool mousemove 150 650
shot event 2

# Alice may edit it (in a 1:1 conversation both are organizers): the form, filled in.
click 353 378
xdotool mousemove 150 650
shot edit-event
click 525 472
sleep 1

# The agenda of every conversation (Ctrl+G), exported as a calendar file.
xdotool key ctrl+g
sleep 1
click 1026 140
xdotool mousemove 150 650
shot agenda 2
grep -q BEGIN:VEVENT "$work/home/Downloads/boucle-agenda.ics"

# The relay goes away: what we write in the loop is queued, and the window says so
# (Escape: back to Omar; Ctrl+Down: the loop).
xdotool key Escape
sleep 1
xdotool key ctrl+Down
sleep 1
kill "$relay_pid"
sleep 4
write "Can someone bring the keys?"
xdotool key Return
shot queued 3

# The relay comes back (same address); Alice's window closes and Omar's opens: a
# member of the loop, which Alice made an announcement loop, and a contact of Nadia.
"$bin/boucle-relay" --data-dir "$work/relay" serve --listen "127.0.0.1:$port" \
    >"$work/relay2.out" 2>"$work/relay2.err" &
pids+=($!)
for _ in $(seq 100); do grep -q '^relay address: ' "$work/relay2.out" && break; sleep 0.1; done
stop
mkdir -p "$work/omar-home/Downloads"
start "$work/omar" HOME="$work/omar-home"
write "demo passphrase"
xdotool key Return
sleep 3

# Nadia's conversation (first in his list): a contact she shares, at the bottom.
xdotool key ctrl+Down
xdotool mousemove 150 650
shot shared-contact 2

# Her timer: the header's tag and button, its choices, the line in the history.
click 877 35
xdotool mousemove 150 650
shot disappearing

# Up in the history: her picture (a preview) and a PDF, saved to ~/Downloads.
xdotool key Escape
sleep 0.5
xdotool mousemove 700 300
for _ in 1 2 3 4 5 6; do xdotool click 4; sleep 0.1; done
click 362 524
sleep 0.5
click 745 524
xdotool mousemove 150 650
shot file 2
test -s "$work/omar-home/Downloads/lease-clauses.pdf"

# The loop (two down): Omar may not post, and still votes.
xdotool key ctrl+Down
sleep 1
xdotool key ctrl+Down
sleep 1
xdotool mousemove 700 300
for _ in $(seq 30); do xdotool click 5; done
xdotool mousemove 150 650
shot announcement 2

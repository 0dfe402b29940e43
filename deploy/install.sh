#!/usr/bin/env bash
# Install civicsearch as a nightly service on Debian 12, as root, from a clone of the repository:
#
#   deploy/install.sh /data/crawl            # the corpus folder the crawler fills
#   deploy/install.sh /data/crawl --serve    # and the search page on 127.0.0.1:8080
#
# Creates the user civicsearch and its state folder /var/lib/civicsearch, a virtual
# environment in /opt/civicsearch/venv (Debian's system pip refuses installs), builds the
# first index as that user (so the nightly job can write it), and enables the timer.
# Running it again upgrades the install and keeps the index.
set -euo pipefail

corpus=${1:?usage: deploy/install.sh CORPUS_DIR [--serve]}
serve=${2:-}
src=$(cd "$(dirname "$0")/.." && pwd)
user=civicsearch
state=/var/lib/civicsearch
venv=/opt/civicsearch/venv

[ "$(id -u)" -eq 0 ] || { echo "Error: run deploy/install.sh as root" >&2; exit 2; }
corpus=$(realpath -e "$corpus") || { echo "Error: corpus folder $1 does not exist" >&2; exit 2; }

# Debian's own Python: one the service user can run (a Python built under root's home is not).
py=/usr/bin/python3
[ -x "$py" ] && "$py" -c 'import venv, ensurepip' 2>/dev/null \
  || { apt-get update && apt-get install -y python3 python3-venv; }
id "$user" >/dev/null 2>&1 \
  || useradd --system --user-group --home-dir "$state" --no-create-home --shell /usr/sbin/nologin "$user"
install -d -o "$user" -g "$user" -m 0750 "$state"
# An index built earlier as root is handed over, or the service could not write it.
chown -R "$user:$user" "$state"
runuser -u "$user" -- test -r "$corpus" -a -x "$corpus" \
  || { echo "Error: the user $user cannot read $corpus: give it read access first" >&2; exit 2; }

[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade "$src[web]"

# The first run remembers the corpus root; exit 1 (some inputs kept out) is not a failure.
status=0
runuser -u "$user" -- env CIVICSEARCH_INDEX="$state/index" "$venv/bin/civicsearch" reindex "$corpus" || status=$?
[ "$status" -le 1 ] || { echo "Error: the first reindex failed (exit $status)" >&2; exit "$status"; }

install -m 0644 "$src/deploy/civicsearch-reindex.service" "$src/deploy/civicsearch-reindex.timer" \
  "$src/deploy/civicsearch-serve.service" /etc/systemd/system/
systemctl daemon-reload
systemctl enable --now civicsearch-reindex.timer
[ "$serve" = "--serve" ] && systemctl enable --now civicsearch-serve
echo "civicsearch installed: index $state/index, corpus $corpus; next run: systemctl list-timers civicsearch-reindex.timer"

#!/usr/bin/env bash
# Writes the secret files docker-compose.yml mounts (./secrets/*), each readable by you only.
# Random values for the database password, the pseudonym secret, the console token and Ray's
# cluster token; the Telegram token from FAKEWATCH_TELEGRAM_TOKEN (from @BotFather) or a prompt.
# Existing files are kept (rotating one is deleting it and running this again; the pseudonym
# secret must then stay: pseudonyms already stored are keyed with it).
#   usage: deploy/make-secrets.sh [DIR]     (default: ./secrets beside docker-compose.yml)
set -euo pipefail
dir="${1:-$(cd "$(dirname "$0")/.." && pwd)/secrets}"
umask 077
mkdir -p "$dir"

random() { python3 -c 'import secrets; print(secrets.token_urlsafe(32))'; }
write() {  # write NAME VALUE, unless the file is there already
  if [[ -s "$dir/$1" ]]; then echo "kept    $dir/$1"; else printf '%s\n' "$2" > "$dir/$1"; echo "created $dir/$1"; fi
}

write postgres_password "$(random)"
# The URL holds the same password: built from the file, so the two always agree.
write fakewatch_database_url "postgresql+asyncpg://fakewatch:$(head -n1 "$dir/postgres_password")@postgres:5432/fakewatch"
write fakewatch_pseudonym_secret "$(random)"
write fakewatch_operator_token "$(random)"
write ray_auth_token "$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
if [[ ! -s "$dir/fakewatch_telegram_token" ]]; then
  token="${FAKEWATCH_TELEGRAM_TOKEN:-}"
  if [[ -z "$token" && -t 0 ]]; then read -r -s -p "Telegram bot token (from @BotFather): " token; echo; fi
  if [[ -z "$token" ]]; then echo "error: set FAKEWATCH_TELEGRAM_TOKEN or run interactively" >&2; exit 2; fi
  write fakewatch_telegram_token "$token"
fi
# Compose (without swarm) mounts the files as they are: each must belong to the user its
# container runs as (the fakewatch images: uid 10001; postgres: uid 999).
if [[ "$(id -u)" == 0 ]]; then
  chown 999:999 "$dir/postgres_password"
  chown 10001:10001 "$dir"/fakewatch_* "$dir/ray_auth_token"
else
  echo "warning: not root; run: sudo chown 999:999 $dir/postgres_password && sudo chown 10001:10001 $dir/fakewatch_* $dir/ray_auth_token" >&2
fi
echo "console sign-in token: $dir/fakewatch_operator_token"
if [[ ! -s "$dir/fakewatch_serving_api_key" ]]; then
  echo "next: docker compose up -d --build migrate && docker compose run --rm ops fakewatch ops keys create bot > $dir/fakewatch_serving_api_key"
fi

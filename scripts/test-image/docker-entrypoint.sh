#!/usr/bin/env bash
# Entrypoint of minitestdb's local test image (PostgreSQL from Debian's packages).
#
# It honours the documented contract of the official postgres image, so that a
# test tool that works here works there:
#   POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust),
#   POSTGRES_USER (default postgres), POSTGRES_DB (default: the user),
#   POSTGRES_INITDB_ARGS, POSTGRES_INITDB_WALDIR, POSTGRES_HOST_AUTH_METHOD
#   (default: the server's password_encryption, scram-sha-256), the *_FILE
#   variants of the first four, PGDATA, /docker-entrypoint-initdb.d/*.sql,
#   *.sql.gz, *.sql.xz, *.sql.zst and *.sh run against a temporary socket-only
#   server, any arguments after the image name handed to postgres, and a uid
#   missing from /etc/passwd (docker run --user) faked with nss_wrapper.
# One script serves every version, as the official one does; what differs is
# decided from PG_MAJOR and PGDATA: the 100-character password warning on 13
# only (psql 14 lifted the limit), the default host auth method (the server's
# password_encryption: md5 on 13, scram-sha-256 from 14), and from 18 the
# refusal to initialise while an older layout's data sits in the volume.
# It is written for this project; it is not a copy of the official script.
set -Eeo pipefail

log() { printf '%s\n' "$*"; }
die() { printf 'Error: %s\n' "$*" >&2; exit 1; }

# VAR or VAR_FILE (Docker secrets) into VAR; both set is an error.
read_env() {
  local name=$1 fallback=${2:-} file_name="${1}_FILE" value
  if [ -n "${!name:-}" ] && [ -n "${!file_name:-}" ]; then
    die "both $name and $file_name are set (but are exclusive)"
  fi
  value=$fallback
  if [ -n "${!name:-}" ]; then
    value=${!name}
  elif [ -n "${!file_name:-}" ]; then
    value=$(< "${!file_name}")
  fi
  export "$name=$value"
  unset "$file_name"
}

wants_help() {
  local arg
  for arg in "$@"; do
    case $arg in -'?'|--help|--describe-config|-V|--version) return 0 ;; esac
  done
  return 1
}

prepare_directories() {
  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA" || true
  mkdir -p /var/run/postgresql || true
  chmod 3775 /var/run/postgresql || true
  if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
    mkdir -p "$POSTGRES_INITDB_WALDIR"
    chmod 0700 "$POSTGRES_INITDB_WALDIR"
  fi
  if [ "$(id -u)" = 0 ]; then
    chown -R postgres:postgres "$PGDATA" /var/run/postgresql ${POSTGRES_INITDB_WALDIR:+"$POSTGRES_INITDB_WALDIR"}
  fi
}

# From 18 on PGDATA is /var/lib/postgresql/MAJOR/docker: data of the old layout
# (or another major's) in the volume means an upgrade without pg_upgrade.
old_databases() {
  OLD_DATABASES=()
  [ "$PGDATA" = "/var/lib/postgresql/$PG_MAJOR/docker" ] || return 0
  local d
  for d in /var/lib/postgresql /var/lib/postgresql/data /var/lib/postgresql/*/docker; do
    [ -s "$d/PG_VERSION" ] && OLD_DATABASES+=("$d")
  done
  if [ "${#OLD_DATABASES[@]}" -eq 0 ] && [ "$PG_MAJOR" -ge 18 ] && mountpoint -q /var/lib/postgresql/data; then
    OLD_DATABASES+=('/var/lib/postgresql/data (unused mount/volume)')
  fi
  return 0
}

check_settings() {
  if [ "${PG_MAJOR:-}" = 13 ] && [ "${#POSTGRES_PASSWORD}" -ge 100 ]; then
    log 'WARNING: POSTGRES_PASSWORD is 100 characters or more; psql 13 does not accept it through PGPASSWORD.' >&2
  fi
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
    cat >&2 <<'MSG'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".

       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
       connections without a password. This is *not* recommended.
MSG
    exit 1
  fi
  if [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
    log 'WARNING: POSTGRES_HOST_AUTH_METHOD is "trust": anyone who reaches the port can connect without a password.' >&2
  fi
  old_databases
  if [ "${#OLD_DATABASES[@]}" -gt 0 ]; then
    cat >&2 <<MSG
Error: in 18+, these Docker images are configured to store database data in a
       format which is compatible with "pg_ctlcluster" (specifically, using
       major-version-specific directory names).

       Counter to that, there appears to be PostgreSQL data in:
         ${OLD_DATABASES[*]}

       This is usually the result of upgrading the Docker image without
       upgrading the underlying database using "pg_upgrade". Place a single
       mount at /var/lib/postgresql instead.
MSG
    exit 1
  fi
}

# initdb insists that the current uid has a passwd entry: fake one for an
# arbitrary --user, as the official image does.
with_nss_wrapper() {
  local uid wrapper
  uid=$(id -u)
  if ! getent passwd "$uid" >/dev/null 2>&1; then
    for wrapper in {/usr,}/lib{/*,}/libnss_wrapper.so; do
      if [ -s "$wrapper" ]; then
        NSS_WRAPPER_PASSWD=$(mktemp)
        NSS_WRAPPER_GROUP=$(mktemp)
        export LD_PRELOAD=$wrapper NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
        printf 'postgres:x:%s:%s:PostgreSQL:%s:/bin/false\n' "$uid" "$(id -g)" "$PGDATA" > "$NSS_WRAPPER_PASSWD"
        printf 'postgres:x:%s:\n' "$(id -g)" > "$NSS_WRAPPER_GROUP"
        break
      fi
    done
  fi
  "$@"
  if [[ "${LD_PRELOAD:-}" == */libnss_wrapper.so ]]; then
    rm -f "$NSS_WRAPPER_PASSWD" "$NSS_WRAPPER_GROUP"
    unset LD_PRELOAD NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
  fi
}

run_sql() {
  # psql on the Unix socket of the temporary server, stopping at the first error.
  local args=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
  [ -n "$POSTGRES_DB" ] && args+=(--dbname "$POSTGRES_DB")
  PGHOST= PGHOSTADDR= "${args[@]}" "$@"
}

initialise() {
  local waldir=()
  [ -n "${POSTGRES_INITDB_WALDIR:-}" ] && waldir=(--waldir "$POSTGRES_INITDB_WALDIR")
  # initdb must not see the password on its command line: it reads it from a pipe.
  # POSTGRES_INITDB_ARGS is a shell-quoted string, as in the official image.
  eval 'with_nss_wrapper initdb --username="$POSTGRES_USER" --pwfile=<(printf "%s\n" "$POSTGRES_PASSWORD") '"$POSTGRES_INITDB_ARGS"' "${waldir[@]}"'

  local server_args=("$@")
  [ "${server_args[0]:-}" = postgres ] && server_args=("${server_args[@]:1}")
  local method=$POSTGRES_HOST_AUTH_METHOD
  [ -n "$method" ] || method=$(postgres -C password_encryption "${server_args[@]}")
  {
    printf '\n'
    [ "$method" = trust ] && printf '# warning trust is enabled for all connections\n'
    printf 'host all all all %s\n' "$method"
  } >> "$PGDATA/pg_hba.conf"

  export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
  # The temporary server listens on the Unix socket only, so no client can reach
  # it over TCP before initialisation is complete.
  NOTIFY_SOCKET= PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" -w start \
    -o "$(printf '%q ' "${server_args[@]}" -c listen_addresses= -p "${PGPORT:-5432}")"

  if [ "$POSTGRES_DB" != postgres ]; then
    local exists
    exists=$(POSTGRES_DB= run_sql --dbname postgres --tuples-only --set db="$POSTGRES_DB" <<'SQL'
SELECT 1 FROM pg_database WHERE datname = :'db';
SQL
)
    if [ -z "$exists" ]; then
      POSTGRES_DB= run_sql --dbname postgres --set db="$POSTGRES_DB" <<'SQL'
CREATE DATABASE :"db";
SQL
    fi
  fi

  local f
  for f in /docker-entrypoint-initdb.d/*; do
    [ -e "$f" ] || continue
    case $f in
      *.sh)
        if [ -x "$f" ]; then log "$0: running $f"; "$f"; else log "$0: sourcing $f"; . "$f"; fi ;;
      *.sql) log "$0: running $f"; run_sql -f "$f" ;;
      *.sql.gz) log "$0: running $f"; gunzip -c "$f" | run_sql ;;
      *.sql.xz) log "$0: running $f"; xzcat "$f" | run_sql ;;
      *.sql.zst) log "$0: running $f"; zstd -dc "$f" | run_sql ;;
      *) log "$0: ignoring $f" ;;
    esac
  done

  PGUSER="${PGUSER:-postgres}" pg_ctl -D "$PGDATA" -m fast -w stop
  unset PGPASSWORD
  log '' 'PostgreSQL init process complete; ready for start up.' ''
}

main() {
  if [ "${1:0:1}" = - ]; then
    set -- postgres "$@"
  fi
  if [ "$1" = postgres ] && ! wants_help "$@"; then
    read_env POSTGRES_PASSWORD
    read_env POSTGRES_USER postgres
    read_env POSTGRES_DB "$POSTGRES_USER"
    read_env POSTGRES_INITDB_ARGS
    : "${POSTGRES_HOST_AUTH_METHOD:=}"
    prepare_directories
    if [ "$(id -u)" = 0 ]; then
      # Drop root for the rest of the script and for postgres itself.
      exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
    fi
    if [ -s "$PGDATA/PG_VERSION" ]; then
      log '' 'PostgreSQL Database directory appears to contain a database; Skipping initialization' ''
    else
      check_settings
      ls /docker-entrypoint-initdb.d/ > /dev/null
      initialise "$@"
    fi
  fi
  exec "$@"
}

main "$@"

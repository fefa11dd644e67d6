#!/usr/bin/env bash
# shellcheck disable=SC2016 # single-quoted code for bash -c / node -e is meant not to expand here
# Make sure PostgreSQL and RabbitMQ are reachable before `npm run demo` / `npm test` run.
#
#   CAUSEWAY_DATABASE_URL   default postgres://causeway:causeway@127.0.0.1:5432/causeway
#   CAUSEWAY_AMQP_URL       default amqp://guest:guest@127.0.0.1:5672
#   CAUSEWAY_SKIP_SERVICES  set to 1 to skip every check (you manage the services yourself)
#
# For each service: use it if its port answers; otherwise, when the URL points at this machine
# and the server is installed, start it; when it is not installed and we are root on
# Debian/Ubuntu, install it with apt-get and start it; otherwise explain what to do and exit 1.
# Then make sure the PostgreSQL role and database from the URL exist (LOGIN, CREATEDB, password)
# and that RabbitMQ accepts the credentials from its URL. Idempotent; well under 2 s when
# everything already runs. Passwords are never printed. See docs/operator/dev-services.md.
set -euo pipefail

case "${CAUSEWAY_SKIP_SERVICES:-}" in
  1 | true | yes)
    echo "services: CAUSEWAY_SKIP_SERVICES is set, not checking PostgreSQL or RabbitMQ"
    exit 0
    ;;
esac

export CAUSEWAY_DATABASE_URL="${CAUSEWAY_DATABASE_URL:-postgres://causeway:causeway@127.0.0.1:5432/causeway}"
export CAUSEWAY_AMQP_URL="${CAUSEWAY_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672}"

# Server tools live in sbin on Debian (rabbitmq-server, service, runuser); plain users lack it.
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

SELF="${BASH_SOURCE[0]}"
PG_READY_TIMEOUT=60
AMQP_READY_TIMEOUT=90
AMQP_RUNNING_GRACE=10
APT_UPDATED=
WORKLOG=
trap '[[ -z "$WORKLOG" ]] || rm -f "$WORKLOG"' EXIT

say() { printf '%s\n' "$*"; }
warn() { printf '%s\n' "$*" >&2; }
# fail "sentence" ["hint" ...]: print a clear sentence (and indented hints) and exit 1.
fail() {
  printf '%s\n' "$1" >&2
  shift
  local line
  for line in "$@"; do printf '  %s\n' "$line" >&2; done
  exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }
with_timeout() { # SECONDS COMMAND...: `timeout` when coreutils has it
  if have timeout; then timeout "$@"; else "${@:2}"; fi
}
is_root() { [[ "$EUID" -eq 0 ]]; }
can_apt() { is_root && have apt-get; }
# Output of apt-get / server start commands goes to one temp file, shown (tail) on failure.
ensure_worklog() { [[ -n "$WORKLOG" ]] || WORKLOG="$(mktemp)"; }
log_tail() { [[ -z "$WORKLOG" ]] || tail -n 5 "$WORKLOG" | sed 's/^/    /' >&2; }

is_local_host() {
  case "$1" in
    localhost | 127.* | ::1 | 0:0:0:0:0:0:0:1) return 0 ;;
    *) return 1 ;;
  esac
}

# tcp_open HOST PORT: does something accept TCP connections there? (no nc needed)
tcp_open() {
  if have timeout; then
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
  else
    CW_HOST="$1" CW_PORT="$2" node -e '
      const s = require("net").connect({ host: process.env.CW_HOST, port: +process.env.CW_PORT });
      s.setTimeout(2000, () => process.exit(1));
      s.on("connect", () => process.exit(0));
      s.on("error", () => process.exit(1));' 2>/dev/null
  fi
}

# apt_install PACKAGE...: install non-interactively (root + apt-get only); `apt-get update` once.
apt_install() {
  can_apt || return 1
  ensure_worklog
  local log="$WORKLOG"
  export DEBIAN_FRONTEND=noninteractive
  if [[ -z "$APT_UPDATED" ]]; then
    apt-get update -qq >>"$log" 2>&1 || return 1
    APT_UPDATED=1
  fi
  apt-get install -y -qq -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "$@" >>"$log" 2>&1
}

# ---------------------------------------------------------------------------------------------
# Parse both URLs with node's WHATWG URL (no npm packages). Values travel through the
# environment and a NUL-separated pipe, never through argv, so passwords stay out of `ps`.
# ---------------------------------------------------------------------------------------------
PARSE_JS='
const out = [];
const fail = (m) => { process.stdout.write("ERR\0" + m + "\0"); process.exit(0); };
const dec = (s, what) => { try { return decodeURIComponent(s); } catch { fail(what + " contains an invalid %-escape"); } };
const parse = (name, protos) => {
  let u;
  try { u = new URL(process.env[name]); } catch { fail(name + " is not a valid URL"); }
  if (!protos.includes(u.protocol)) fail(name + " must start with " + protos.map((p) => p + "//").join(" or "));
  return u;
};
const host = (u) => u.hostname.replace(/^\[(.*)\]$/, "$1") || "localhost";
const masked = (u) =>
  u.protocol + "//" + (u.username ? u.username + (u.password ? ":***" : "") + "@" : "") +
  u.host + u.pathname + u.search.replace(/([?&]password=)[^&]*/gi, "$1***");
const noCtl = (s, what) => { if (/[\x00-\x1f\x7f]/.test(s)) fail(what + " contains control characters"); return s; };

const pg = parse("CAUSEWAY_DATABASE_URL", ["postgres:", "postgresql:"]);
const pgUser = noCtl(dec(pg.username, "the CAUSEWAY_DATABASE_URL user"), "the CAUSEWAY_DATABASE_URL user");
const pgPass = noCtl(pg.password ? dec(pg.password, "the CAUSEWAY_DATABASE_URL password") : pg.searchParams.get("password") || "", "the CAUSEWAY_DATABASE_URL password");
const pgDb = noCtl(dec(pg.pathname.slice(1), "the CAUSEWAY_DATABASE_URL database") || pgUser, "the CAUSEWAY_DATABASE_URL database");
const pgNoPw = new URL(pg.href);
pgNoPw.password = "";
pgNoPw.searchParams.delete("password");
out.push(host(pg), pg.port || "5432", pgUser, pgPass, pgDb, masked(pg), pgNoPw.href);

const mq = parse("CAUSEWAY_AMQP_URL", ["amqp:", "amqps:"]);
const tls = mq.protocol === "amqps:";
const mqUser = mq.username ? dec(mq.username, "the CAUSEWAY_AMQP_URL user") : "guest";
const mqPass = mq.username ? dec(mq.password, "the CAUSEWAY_AMQP_URL password") : "guest";
const vhost = mq.pathname === "" || mq.pathname === "/" ? "/" : dec(mq.pathname.slice(1), "the CAUSEWAY_AMQP_URL vhost");
out.push(host(mq), mq.port || (tls ? "5671" : "5672"), tls ? "1" : "0", mqUser, mqPass, vhost, masked(mq));
process.stdout.write("OK\0" + out.join("\0") + "\0");
'
FIELDS=()
while IFS= read -r -d '' f; do FIELDS+=("$f"); done < <(node -e "$PARSE_JS")
if [[ "${#FIELDS[@]}" -eq 0 ]]; then
  fail "services: could not parse CAUSEWAY_DATABASE_URL / CAUSEWAY_AMQP_URL (is node installed?)."
fi
if [[ "${FIELDS[0]}" != OK ]]; then fail "services: ${FIELDS[1]:-invalid URL}."; fi
PG_HOST="${FIELDS[1]}" PG_PORT="${FIELDS[2]}" PG_USER="${FIELDS[3]}" PG_PASSWORD="${FIELDS[4]}"
PG_DB="${FIELDS[5]}" PG_SHOWN="${FIELDS[6]}" PG_URL_NOPW="${FIELDS[7]}"
MQ_HOST="${FIELDS[8]}" MQ_PORT="${FIELDS[9]}" MQ_TLS="${FIELDS[10]}" MQ_USER="${FIELDS[11]}"
MQ_PASSWORD="${FIELDS[12]}" MQ_VHOST="${FIELDS[13]}" MQ_SHOWN="${FIELDS[14]}"
unset FIELDS

if [[ -z "$PG_USER" ]]; then
  fail "postgres: CAUSEWAY_DATABASE_URL ($PG_SHOWN) has no user name; use postgres://USER:PASSWORD@HOST:PORT/DB."
fi
if ! [[ "$PG_USER" =~ ^[A-Za-z0-9_]+$ && "$PG_DB" =~ ^[A-Za-z0-9_]+$ ]]; then
  fail "postgres: the user and database names in CAUSEWAY_DATABASE_URL ($PG_SHOWN) may only contain letters, digits and _."
fi

# =============================================================================================
# PostgreSQL
# =============================================================================================

pg_installed() { have pg_ctlcluster || have pg_ctl || have postgres || [[ -d /etc/postgresql ]]; }

# pg_ready: port open and (when pg_isready exists) the server accepts connections.
pg_ready() {
  tcp_open "$PG_HOST" "$PG_PORT" || return 1
  if have pg_isready; then pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2 >/dev/null 2>&1 || return 1; fi
}

pg_wait_ready() { # SECONDS_BUDGET
  local deadline=$((SECONDS + $1))
  while ! pg_ready; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

# pg_local_cluster: "VERSION NAME OWNER" of the local Debian cluster configured for PG_PORT.
pg_local_cluster() {
  if have pg_lsclusters; then
    pg_lsclusters -h 2>/dev/null | awk -v p="$PG_PORT" '$3 == p { print $1, $2, $5; exit }'
  elif [[ "$PG_PORT" == 5432 && -d /etc/postgresql ]] && have pg_ctlcluster; then
    local ver
    # shellcheck disable=SC2012 # version directory names are plain numbers
    ver="$(ls /etc/postgresql | sort -V | tail -1)"
    [[ -z "$ver" ]] || echo "$ver main postgres"
  fi
}

pg_cannot_reach() { # extra hint lines...
  fail "postgres: nothing answers at $PG_HOST:$PG_PORT ($PG_SHOWN)." "$@" \
    "Or point CAUSEWAY_DATABASE_URL at a reachable server, or set CAUSEWAY_SKIP_SERVICES=1 to skip this check."
}

ensure_pg_server() {
  if pg_ready; then
    say "postgres: using running server at $PG_HOST:$PG_PORT ($PG_SHOWN)"
    return
  fi
  if tcp_open "$PG_HOST" "$PG_PORT"; then
    # The port answers but the server is not accepting yet (starting up or recovering).
    pg_wait_ready "$PG_READY_TIMEOUT" ||
      fail "postgres: $PG_HOST:$PG_PORT answers but PostgreSQL did not accept connections within ${PG_READY_TIMEOUT}s ($PG_SHOWN)."
    say "postgres: using running server at $PG_HOST:$PG_PORT ($PG_SHOWN)"
    return
  fi
  if ! is_local_host "$PG_HOST"; then
    pg_cannot_reach "The server is not on this machine: start it there, check the host/port and firewalls."
  fi

  local installed_now=
  if ! pg_installed; then
    if [[ "$PG_PORT" != 5432 ]]; then
      pg_cannot_reach "PostgreSQL is not installed here, and a fresh install would listen on 5432, not $PG_PORT."
    fi
    if ! can_apt; then
      if have apt-get; then
        pg_cannot_reach "PostgreSQL is not installed. Install and start it with:" \
          "  sudo apt-get install -y postgresql && sudo service postgresql start" \
          "(or run this script as root: sudo -E bash $SELF)"
      fi
      pg_cannot_reach "PostgreSQL is not installed. Install PostgreSQL 14+ with your package manager and start it," \
        "or run it in a container: docker run -d -p 5432:5432 -e POSTGRES_PASSWORD=<password> postgres:15"
    fi
    say "postgres: not installed, installing postgresql with apt-get (takes a minute)..."
    if ! apt_install postgresql; then
      log_tail
      fail "postgres: 'apt-get install postgresql' failed (see the lines above)."
    fi
    installed_now=1
  fi

  local cluster ver name owner
  cluster="$(pg_local_cluster)"
  if [[ -z "$cluster" ]]; then
    if have pg_lsclusters; then
      pg_cannot_reach "PostgreSQL is installed but no local cluster is configured for port $PG_PORT" \
        "(see pg_lsclusters); start the cluster that serves it, or fix the port in the URL."
    fi
    pg_cannot_reach "PostgreSQL is installed but not running on port $PG_PORT, and this script only starts" \
      "Debian/Ubuntu clusters; start it yourself (pg_ctl -D <data directory> start, brew services start postgresql, ...)."
  fi
  read -r ver name owner <<<"$cluster"
  if ! pg_ready; then # a fresh install may already have started it
    if ! is_root && [[ "$(id -un)" != "$owner" ]]; then
      pg_cannot_reach "PostgreSQL $ver/$name is installed but stopped, and starting it needs root. Run:" \
        "  sudo pg_ctlcluster $ver $name start     (or: sudo service postgresql start)"
    fi
    ensure_worklog
    local log="$WORKLOG"
    pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start >>"$log" 2>&1 ||
      { have service && service postgresql start >>"$log" 2>&1; } || true
    if ! pg_wait_ready "$PG_READY_TIMEOUT"; then
      log_tail
      fail "postgres: started cluster $ver/$name but it did not accept connections on $PG_HOST:$PG_PORT within ${PG_READY_TIMEOUT}s." \
        "Look at /var/log/postgresql/postgresql-$ver-$name.log."
    fi
  fi
  if [[ -n "$installed_now" ]]; then
    say "postgres: installed and started local server $ver/$name at $PG_HOST:$PG_PORT"
  else
    say "postgres: started local server $ver/$name at $PG_HOST:$PG_PORT"
  fi
}

# pg_url_check: log in with the URL. Returns 0 when that works and sets PG_CAN_CREATE to "t"
# when the role may create databases; otherwise PG_URL_ERR says why. The password goes
# through PGPASSWORD (environment), never through argv.
PG_URL_ERR='' PG_CAN_CREATE=''
pg_url_check() {
  local out
  PG_URL_ERR='' PG_CAN_CREATE=''
  if out="$(
    if [[ -n "$PG_PASSWORD" ]]; then export PGPASSWORD="$PG_PASSWORD"; fi
    PGCONNECT_TIMEOUT=5 psql -X -w -q -A -t -d "$PG_URL_NOPW" \
      -c 'select rolcreatedb or rolsuper from pg_roles where rolname = current_user' 2>&1 </dev/null
  )"; then
    PG_CAN_CREATE="$out"
    return 0
  fi
  PG_URL_ERR="$(printf '%s\n' "$out" | grep -v '^\s*$' | head -n 2 | tr '\n' ' ' | sed 's/ *$//')"
  return 1
}

# psql meta-command argument quoting: '...' with '' for a quote and \\ for a backslash.
psql_quote() {
  local s="${1//\\/\\\\}"
  printf "'%s'" "${s//\'/\'\'}"
}

# The SQL run as a superuser. The password is only ever inside this text (fed on stdin).
pg_setup_sql() {
  cat <<SQL
\\set ON_ERROR_STOP on
\\set cw_role $(psql_quote "$PG_USER")
\\set cw_db $(psql_quote "$PG_DB")
\\set cw_pw $(psql_quote "$PG_PASSWORD")
SELECT 'cw:role:' || CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'cw_role') THEN 'updated' ELSE 'created' END;
SELECT 'cw:db:' || CASE WHEN EXISTS (SELECT 1 FROM pg_database WHERE datname = :'cw_db') THEN 'exists' ELSE 'created' END;
SELECT format(CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'cw_role')
                   THEN 'ALTER ROLE %I LOGIN CREATEDB' ELSE 'CREATE ROLE %I LOGIN CREATEDB' END, :'cw_role')
       || CASE WHEN :'cw_pw' = '' THEN '' ELSE format(' PASSWORD %L', :'cw_pw') END
\\gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'cw_db', :'cw_role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'cw_db')
\\gexec
SQL
}

# Error text from psql without anything that could echo the password back.
pg_clean_err() {
  grep -v -e '^cw:' -e '^\s*$' -e '^LINE [0-9]' -e '^\s*\^' |
    sed -E "s/(PASSWORD )'([^']|'')*'/\\1'***'/Ig" | head -n 3 | tr '\n' ' ' | sed 's/ *$//'
}

# pg_as_superuser: run pg_setup_sql as the PostgreSQL superuser, trying in turn:
# TCP as "postgres" (trust/.pgpass), then the unix socket as the OS user postgres (peer auth).
PG_SU_OUT='' PG_SU_HOW='' PG_SU_ERR=''
pg_as_superuser() {
  local sql out
  sql="$(pg_setup_sql)"
  local -a psql_args=(-X -q -w -A -t -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres)
  PG_SU_ERR=
  if out="$(printf '%s\n' "$sql" | PGCONNECT_TIMEOUT=5 psql "${psql_args[@]}" -h "$PG_HOST" -U postgres 2>&1)"; then
    PG_SU_OUT="$out" PG_SU_HOW="psql -h $PG_HOST -U postgres"
    return 0
  fi
  PG_SU_ERR="$(printf '%s\n' "$out" | pg_clean_err)"
  if id postgres >/dev/null 2>&1; then
    local -a as_postgres=()
    if [[ "$(id -un)" == postgres ]]; then
      as_postgres=(env)
    elif is_root && have runuser; then
      as_postgres=(runuser -u postgres --)
    elif is_root && have su; then
      as_postgres=(su postgres -s /bin/sh -c 'exec "$0" "$@"')
    elif have sudo && sudo -n -u postgres true >/dev/null 2>&1; then
      as_postgres=(sudo -n -u postgres)
    fi
    if [[ "${#as_postgres[@]}" -gt 0 ]]; then
      if out="$(printf '%s\n' "$sql" | (cd / && "${as_postgres[@]}" psql "${psql_args[@]}") 2>&1)"; then
        PG_SU_OUT="$out" PG_SU_HOW="the postgres OS user"
        return 0
      fi
      PG_SU_ERR="$(printf '%s\n' "$out" | pg_clean_err)"
    fi
  fi
  return 1
}

ensure_pg_role() {
  if ! have psql; then
    if is_local_host "$PG_HOST" && can_apt; then
      say "postgres: psql is missing, installing postgresql-client with apt-get..."
      apt_install postgresql-client || { log_tail; fail "postgres: 'apt-get install postgresql-client' failed."; }
    else
      fail "postgres: psql is needed to check the role and database in CAUSEWAY_DATABASE_URL but is not installed." \
        "Install it with: sudo apt-get install -y postgresql-client   (or your package manager's PostgreSQL client)" \
        "or set CAUSEWAY_SKIP_SERVICES=1 if you manage the database yourself."
    fi
  fi

  if pg_url_check && [[ "$PG_CAN_CREATE" == t ]]; then
    return 0 # role, password and database fine; stay quiet on the fast path
  fi
  local why
  if [[ -n "$PG_URL_ERR" ]]; then
    why="$PG_URL_ERR"
  else
    why="role \"$PG_USER\" exists but lacks CREATEDB"
  fi

  if ! is_local_host "$PG_HOST"; then
    fail "postgres: cannot use $PG_SHOWN: $why" \
      "The server is not local, so this script does not create roles there. Ask its administrator for:" \
      "  CREATE ROLE \"$PG_USER\" LOGIN CREATEDB PASSWORD '<password>';  CREATE DATABASE \"$PG_DB\" OWNER \"$PG_USER\";"
  fi

  if ! pg_as_superuser; then
    fail "postgres: cannot log in as \"$PG_USER\" ($why), and could not become the PostgreSQL superuser to fix it (${PG_SU_ERR:-no way to act as the postgres user})." \
      "Create them yourself as a superuser, for example:" \
      "  sudo -u postgres psql -c \"CREATE ROLE \\\"$PG_USER\\\" LOGIN CREATEDB PASSWORD '<password from the URL>'\"" \
      "  sudo -u postgres createdb -O $PG_USER $PG_DB" \
      "or run this script as root: sudo -E bash $SELF"
  fi
  local role_state db_state
  role_state="$(printf '%s\n' "$PG_SU_OUT" | sed -n 's/^cw:role://p' | head -n 1)"
  db_state="$(printf '%s\n' "$PG_SU_OUT" | sed -n 's/^cw:db://p' | head -n 1)"

  if ! pg_url_check || [[ "$PG_CAN_CREATE" != t ]]; then
    fail "postgres: set up role \"$PG_USER\" and database \"$PG_DB\" but still cannot use $PG_SHOWN: ${PG_URL_ERR:-role lacks CREATEDB}" \
      "Check pg_hba.conf allows password logins from $PG_HOST for \"$PG_USER\"."
  fi
  say "postgres: role \"$PG_USER\" ${role_state:-updated} (LOGIN CREATEDB), database \"$PG_DB\" ${db_state:-exists} (as $PG_SU_HOW)"
}

# =============================================================================================
# RabbitMQ
# =============================================================================================

# A real AMQP 0-9-1 handshake: protocol header, PLAIN login with the URL's credentials,
# open the vhost, close cleanly. Exit 0 ok, 2 not answering yet (retry), 3 login refused,
# 4 vhost refused, 5 something else answers (not AMQP 0-9-1, TLS problem, ...).
AMQP_PROBE_JS='
const net = require("net"), tls = require("tls");
const e = process.env;
const host = e.CW_MQ_HOST, port = Number(e.CW_MQ_PORT), useTls = e.CW_MQ_TLS === "1";
let sock, buf = Buffer.alloc(0), stage = "connect", done = false;
const finish = (code, msg) => {
  if (done) return;
  done = true;
  if (msg) process.stderr.write(msg + "\n");
  if (sock) sock.destroy();
  process.exit(code);
};
setTimeout(() => finish(stage === "closing" ? 0 : 2, "no AMQP answer within 3 s"), 3000);
const u8 = (n) => Buffer.from([n]);
const u16 = (n) => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b; };
const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
const sstr = (s) => { const b = Buffer.from(s, "utf8"); return Buffer.concat([u8(b.length), b]); };
const lstr = (b) => Buffer.concat([u32(b.length), b]);
const send = (cls, mth, ...args) => {
  const p = Buffer.concat([u16(cls), u16(mth), ...args]);
  sock.write(Buffer.concat([u8(1), u16(0), u32(p.length), p, u8(0xce)]));
};
const clientProps = lstr(Buffer.concat([
  sstr("product"), Buffer.from("S"), lstr(Buffer.from("causeway ensure-services")),
  sstr("capabilities"), Buffer.from("F"),
  lstr(Buffer.concat([sstr("authentication_failure_close"), Buffer.from("t"), u8(1)])),
]));
const onMethod = (cls, mth, a) => {
  const m = cls + "." + mth;
  if (m === "10.10") { // connection.start
    const off = 6 + a.readUInt32BE(2);
    const mechs = a.subarray(off + 4, off + 4 + a.readUInt32BE(off)).toString().split(" ");
    if (!mechs.includes("PLAIN")) finish(5, "the broker does not offer PLAIN login (offers " + mechs.join(", ") + ")");
    stage = "login";
    send(10, 11, clientProps, sstr("PLAIN"), lstr(Buffer.from("\0" + e.CW_MQ_USER + "\0" + e.CW_MQ_PASSWORD, "utf8")), sstr("en_US"));
  } else if (m === "10.30") { // connection.tune
    send(10, 31, u16(a.readUInt16BE(0)), u32(a.readUInt32BE(2)), u16(0));
    stage = "open";
    send(10, 40, sstr(e.CW_MQ_VHOST), sstr(""), u8(0));
  } else if (m === "10.41") { // connection.open-ok
    stage = "closing";
    send(10, 50, u16(200), sstr("bye"), u16(0), u16(0));
  } else if (m === "10.51") { // connection.close-ok
    finish(0);
  } else if (m === "10.50") { // connection.close from the broker
    const text = a.readUInt16BE(0) + " " + a.subarray(3, 3 + a[2]).toString();
    try { send(10, 51); } catch {}
    finish(stage === "login" ? 3 : stage === "open" ? 4 : 5, text);
  }
};
const onConnect = () => { stage = "start"; sock.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1])); };
sock = useTls
  ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host }, onConnect)
  : net.connect({ host, port }, onConnect);
sock.on("error", (err) => {
  const transient = ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EPIPE", "ENOTFOUND", "EAI_AGAIN"];
  finish(transient.includes(err.code) ? 2 : 5, err.message);
});
sock.on("close", () => {
  if (stage === "closing") finish(0);
  else if (stage === "login") finish(3, "the broker closed the connection after the login");
  else if (stage === "open") finish(4, "the broker closed the connection when opening the vhost");
  else finish(2, "connection closed before the AMQP handshake");
});
sock.on("data", (chunk) => {
  buf = Buffer.concat([buf, chunk]);
  if (stage === "start" && buf.length >= 4 && buf.subarray(0, 4).toString() === "AMQP")
    finish(5, "the server speaks another AMQP version (RabbitMQ speaks 0-9-1)");
  while (!done && buf.length >= 7) {
    const size = buf.readUInt32BE(3);
    if (buf.length < 8 + size) return;
    const type = buf[0], p = buf.subarray(7, 7 + size);
    if (type !== 1 && type !== 8) finish(5, "the server does not speak AMQP 0-9-1");
    buf = buf.subarray(8 + size);
    if (type === 1 && p.length >= 4) onMethod(p.readUInt16BE(0), p.readUInt16BE(2), p.subarray(4));
  }
});
'

MQ_PROBE_ERR=
amqp_probe() {
  local rc=0
  MQ_PROBE_ERR="$(
    export CW_MQ_HOST="$MQ_HOST" CW_MQ_PORT="$MQ_PORT" CW_MQ_TLS="$MQ_TLS" CW_MQ_USER="$MQ_USER" \
      CW_MQ_PASSWORD="$MQ_PASSWORD" CW_MQ_VHOST="$MQ_VHOST"
    node -e "$AMQP_PROBE_JS" 2>&1 >/dev/null
  )" || rc=$?
  return "$rc"
}

# amqp_wait_ready SECONDS: port open AND the AMQP handshake (with the URL's login) works.
amqp_wait_ready() {
  local deadline=$((SECONDS + $1)) rc
  while :; do
    rc=0
    if tcp_open "$MQ_HOST" "$MQ_PORT"; then amqp_probe || rc=$?; else rc=2; fi
    case "$rc" in
      0) return 0 ;;
      3)
        fail "rabbitmq: the broker at $MQ_HOST:$MQ_PORT refused the login of user \"$MQ_USER\" ($MQ_SHOWN): $MQ_PROBE_ERR" \
          "Fix the user/password in CAUSEWAY_AMQP_URL, or create the user on the broker:" \
          "  sudo rabbitmqctl add_user $MQ_USER '<password>' && sudo rabbitmqctl set_permissions -p '$MQ_VHOST' $MQ_USER '.*' '.*' '.*'" \
          "(the built-in guest user may only log in from localhost)"
        ;;
      4)
        fail "rabbitmq: user \"$MQ_USER\" may not open vhost \"$MQ_VHOST\" on $MQ_HOST:$MQ_PORT ($MQ_SHOWN): $MQ_PROBE_ERR" \
          "Create it / grant access: sudo rabbitmqctl add_vhost '$MQ_VHOST' && sudo rabbitmqctl set_permissions -p '$MQ_VHOST' $MQ_USER '.*' '.*' '.*'"
        ;;
      5)
        fail "rabbitmq: $MQ_HOST:$MQ_PORT answers but not as a usable AMQP 0-9-1 broker ($MQ_SHOWN): $MQ_PROBE_ERR"
        ;;
    esac
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

# Ports the local broker listens on: RABBITMQ_NODE_PORT, NODE_PORT in rabbitmq-env.conf,
# listeners.tcp.* in rabbitmq.conf; 5672 when none is configured.
rabbit_configured_ports() {
  local ports=
  if [[ -n "${RABBITMQ_NODE_PORT:-}" ]]; then
    ports="$RABBITMQ_NODE_PORT"
  else
    ports="$(
      sed -nE 's/^[[:space:]]*(export[[:space:]]+)?(RABBITMQ_)?NODE_PORT[[:space:]]*=[[:space:]]*"?([0-9]+).*/\3/p' \
        /etc/rabbitmq/rabbitmq-env.conf 2>/dev/null || true
      sed -nE 's/^[[:space:]]*listeners\.tcp\.[^=]*=[[:space:]]*([^[:space:]]*:)?([0-9]+)[[:space:]]*$/\2/p' \
        /etc/rabbitmq/rabbitmq.conf 2>/dev/null || true
    )"
  fi
  printf '%s\n' "${ports:-5672}"
}

mq_cannot_reach() { # extra hint lines...
  fail "rabbitmq: nothing answers at $MQ_HOST:$MQ_PORT ($MQ_SHOWN)." "$@" \
    "Or point CAUSEWAY_AMQP_URL at a reachable broker, or set CAUSEWAY_SKIP_SERVICES=1 to skip this check."
}

ensure_rabbitmq() {
  if tcp_open "$MQ_HOST" "$MQ_PORT"; then
    # A broker that already listens answers at once; a short grace covers a restart in progress.
    amqp_wait_ready "$AMQP_RUNNING_GRACE" ||
      fail "rabbitmq: $MQ_HOST:$MQ_PORT answers but no AMQP handshake succeeded within ${AMQP_RUNNING_GRACE}s ($MQ_SHOWN): $MQ_PROBE_ERR" \
        "Is that port really RabbitMQ? Check the port in CAUSEWAY_AMQP_URL."
    say "rabbitmq: using running broker at $MQ_HOST:$MQ_PORT ($MQ_SHOWN)"
    return
  fi
  if ! is_local_host "$MQ_HOST"; then
    mq_cannot_reach "The broker is not on this machine: start it there, check the host/port and firewalls."
  fi
  if [[ "$MQ_TLS" == 1 ]]; then
    mq_cannot_reach "This script only starts a plain-AMQP local broker; configure TLS on it yourself."
  fi

  local installed_now=
  if ! have rabbitmq-server; then
    if [[ "$MQ_PORT" != 5672 ]]; then
      mq_cannot_reach "RabbitMQ is not installed here, and a fresh install would listen on 5672, not $MQ_PORT."
    fi
    if ! can_apt; then
      if have apt-get; then
        mq_cannot_reach "RabbitMQ is not installed. Install and start it with:" \
          "  sudo apt-get install -y rabbitmq-server && sudo rabbitmq-server -detached" \
          "(or run this script as root: sudo -E bash $SELF)"
      fi
      mq_cannot_reach "RabbitMQ is not installed. Install RabbitMQ 3.10+ with your package manager and start it," \
        "or run it in a container: docker run -d -p 5672:5672 -p 15672:15672 rabbitmq:3-management"
    fi
    say "rabbitmq: not installed, installing rabbitmq-server with apt-get (takes a minute)..."
    if ! apt_install rabbitmq-server; then
      log_tail
      fail "rabbitmq: 'apt-get install rabbitmq-server' failed (see the lines above)."
    fi
    installed_now=1
  fi

  if ! rabbit_configured_ports | grep -qx "$MQ_PORT"; then
    mq_cannot_reach "The local RabbitMQ is configured for port(s) $(rabbit_configured_ports | tr '\n' ' ')- not $MQ_PORT;" \
      "fix the port in CAUSEWAY_AMQP_URL."
  fi
  if ! tcp_open "$MQ_HOST" "$MQ_PORT"; then # a fresh install may already have started it
    if ! is_root && [[ "$(id -un)" != rabbitmq ]]; then
      mq_cannot_reach "RabbitMQ is installed but stopped, and starting it needs root. Run:" \
        "  sudo rabbitmq-server -detached     (or: sudo service rabbitmq-server start)"
    fi
    say "rabbitmq: starting local server (a few seconds)..."
    ensure_worklog
    local log="$WORKLOG" started=1
    rabbitmq-server -detached >>"$log" 2>&1 || started=
    # If starting failed outright (e.g. a node is already booting), still give it a short while.
    if ! amqp_wait_ready "$([[ -n "$started" ]] && echo "$AMQP_READY_TIMEOUT" || echo 15)"; then
      log_tail
      fail "rabbitmq: started the local broker but $MQ_HOST:$MQ_PORT did not complete an AMQP handshake within ${AMQP_READY_TIMEOUT}s (${MQ_PROBE_ERR:-port closed})." \
        "Look at /var/log/rabbitmq/ for the reason."
    fi
    if [[ -n "$installed_now" ]]; then
      say "rabbitmq: installed and started local server at $MQ_HOST:$MQ_PORT"
    else
      say "rabbitmq: started local server at $MQ_HOST:$MQ_PORT"
    fi
  else
    amqp_wait_ready "$AMQP_READY_TIMEOUT" ||
      fail "rabbitmq: $MQ_HOST:$MQ_PORT answers but no AMQP handshake succeeded within ${AMQP_READY_TIMEOUT}s: $MQ_PROBE_ERR"
    say "rabbitmq: installed local server at $MQ_HOST:$MQ_PORT"
  fi
}

# The management plugin (HTTP API on 15672) is needed by later features. Only for a local
# broker, only when not enabled yet (the CLI takes ~2 s), and failing is only a warning.
ensure_rabbit_management() {
  is_local_host "$MQ_HOST" && have rabbitmq-plugins || return 0
  tcp_open "$MQ_HOST" 15672 && return 0 # management listener already up
  if ! is_root && [[ "$(id -un)" != rabbitmq ]]; then
    warn "rabbitmq: warning: the management plugin seems off; enable it with: sudo rabbitmq-plugins enable rabbitmq_management"
    return 0
  fi
  local out
  if out="$(with_timeout 60 rabbitmq-plugins -q list -e -m rabbitmq_management 2>&1)" &&
    printf '%s\n' "$out" | grep -qx 'rabbitmq_management'; then
    return 0
  fi
  if out="$(with_timeout 60 rabbitmq-plugins -q enable rabbitmq_management 2>&1)"; then
    say "rabbitmq: enabled the management plugin"
  else
    warn "rabbitmq: warning: could not enable the management plugin ($(printf '%s' "$out" | grep -v '^\s*$' | head -n 1));" \
      "run: sudo rabbitmq-plugins enable rabbitmq_management"
  fi
}

ensure_pg_server
ensure_pg_role
ensure_rabbitmq
ensure_rabbit_management

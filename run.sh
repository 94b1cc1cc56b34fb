#!/usr/bin/env bash
# One command to set up, run and test the brain-MRI dashboard.
#   ./run.sh          set up (venv, Hadoop jars, local HDFS), then serve the dashboard on :8501
#   ./run.sh test     the same set-up, then the whole test suite
#   ./run.sh setup    set up and start HDFS only
#   ./run.sh stop     stop the dashboard and the local HDFS daemons
#   ./run.sh spark [K]  also start a Spark standalone master and K one-core workers (spark://127.0.0.1:7077)
# Every command is safe to repeat. Settings come from MRI_* variables (see README).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
RUN_DIR="${MRI_RUN_DIR:-$ROOT/.run}"
CACHE="$ROOT/.cache"
PORT="${MRI_DASHBOARD_PORT:-8501}"
DASH_PID="$RUN_DIR/dashboard.pid"

step()  { printf '\033[1m==> %s\033[0m\n' "$*"; }
note()  { printf '    %s\n' "$*"; }
die()   { local code="$1"; shift; printf 'error: %s\n' "$*" >&2; exit "$code"; }
now()   { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

find_python() {
  for candidate in python3.11 python3.12 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then
      if "$candidate" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 13) else 1)' 2>/dev/null; then
        command -v "$candidate"; return 0
      fi
    fi
  done
  return 1
}

check_prerequisites() {
  command -v java >/dev/null 2>&1 \
    || die 1 "Java was not found; install Java 17 (Debian/Ubuntu: apt-get install openjdk-17-jre-headless, macOS: brew install openjdk@17) and rerun ./run.sh."
  local major
  major="$(java -version 2>&1 | awk -F'"' '/version/ { split($2, v, "."); print (v[1] == "1" ? v[2] : v[1]); exit }')"
  if [[ -n "$major" && "$major" -lt 17 ]]; then
    die 1 "Java $major was found but Spark 4 and Hadoop need Java 17 or newer; install Java 17 and rerun."
  fi
}

setup_venv() {
  local python stamp want
  want="$(sha256sum requirements.txt | cut -d' ' -f1)"
  stamp="$VENV/.requirements.sha256"
  if [[ -x "$PY" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    note "Python venv is up to date (.venv)"; install_project; return 0
  fi
  python="$(find_python)" || die 1 "Python 3.11 or 3.12 was not found; install Python 3.11 and rerun ./run.sh."
  local t0; t0="$(now)"
  step "Creating the Python venv from requirements.txt (first run: about 3-5 minutes)"
  [[ -x "$PY" ]] || "$python" -m venv "$VENV"
  "$PY" -m pip install --quiet --disable-pip-version-check --upgrade pip \
    || die 1 "pip could not reach the package index; check the network (or a proxy) and rerun."
  "$PY" -m pip install --quiet --disable-pip-version-check -r requirements.txt \
    || die 1 "Installing requirements.txt failed (see above); fix the network or the pins and rerun."
  echo "$want" > "$stamp"
  install_project
  note "venv ready in $(since "$t0") s"
}

install_project() {
  # The project itself, editable: `import engine` from anywhere (Spark's workers too) and the `mri` command.
  [[ -x "$VENV/bin/mri" ]] && "$PY" -c 'import engine.cli.main' 2>/dev/null && return 0
  "$PY" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e "$ROOT" >/dev/null 2>&1 \
    || die 1 "Installing the project into the venv failed; run: $PY -m pip install -e . and read its message."
  note "installed the project into the venv: the \`mri\` command (.venv/bin/mri)"
}

setup_hadoop_jars() {
  local want stamp lib="$CACHE/hadoop/lib"
  if [[ -n "${HADOOP_HOME:-}" ]]; then
    note "Using Hadoop from HADOOP_HOME=$HADOOP_HOME"; return 0
  fi
  want="$(sha256sum hadoop/pom.xml | cut -d' ' -f1)"
  stamp="$CACHE/hadoop/.pom.sha256"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && ls "$lib"/hadoop-hdfs-*.jar >/dev/null 2>&1; then
    note "Hadoop jars are cached (.cache/hadoop)"; return 0
  fi
  command -v mvn >/dev/null 2>&1 \
    || die 1 "Maven (mvn) was not found and the Hadoop jars are not cached; install Maven (apt-get install maven / brew install maven) or set HADOOP_HOME, then rerun."
  local t0; t0="$(now)"
  step "Fetching the Apache Hadoop 3.4.1 jars with Maven (first run: about 1 minute)"
  rm -rf "$CACHE/hadoop"
  if ! mvn -q -B -f hadoop/pom.xml dependency:copy-dependencies dependency:unpack >"$CACHE/maven.log" 2>&1; then
    tail -n 5 "$CACHE/maven.log" >&2 || true
    rm -rf "$CACHE/hadoop"
    die 1 "Maven could not fetch the Hadoop jars (log: $CACHE/maven.log); check that Maven Central is reachable, or set HADOOP_HOME to a Hadoop 3.4 install, and rerun."
  fi
  [[ -d "$CACHE/hadoop/resources/webapps/datanode" ]] \
    || die 1 "Maven ran but the HDFS web resources are missing from $CACHE/hadoop/resources; delete $CACHE/hadoop and rerun."
  echo "$want" > "$stamp"
  note "Hadoop jars ready in $(since "$t0") s"
}

check_settings() {
  # Loads and validates every MRI_* variable; a bad one is named and we stop here.
  "$PY" -m engine settings >/dev/null || die 2 "Fix the setting named above and rerun."
  warn_exposure
}

warn_exposure() {
  # Settings refuse a non-loopback MRI_BIND_HOST unless MRI_ALLOW_REMOTE_ACCESS=1; then say what that exposes.
  local host="${MRI_BIND_HOST:-127.0.0.1}"
  case "$host" in 127.*|::1|localhost) return 0 ;; esac
  printf '\033[1;33mwarning: MRI_BIND_HOST=%s with MRI_ALLOW_REMOTE_ACCESS=1 serves, WITHOUT any login or encryption:\033[0m\n' "$host" >&2
  printf '  - the dashboard (port %s): every page, uploads, classifications, the audit log, job controls\n' "$PORT" >&2
  printf '  - WebHDFS and the NameNode/DataNode web UIs (simple auth, permissions off): read, write, delete all data\n' >&2
  printf '  - the Spark UI (can kill jobs) and the Elephas parameter server (accepts weight updates) during jobs\n' >&2
  printf '  Use it only on a network you trust completely, never with patient data (README: Security).\n' >&2
}

start_hdfs() {
  local t0; t0="$(now)"
  step "Starting the local HDFS (NameNode + DataNodes on loopback)"
  "$PY" -m engine cluster up || die $? "HDFS did not start (see the message above)."
  note "HDFS ready in $(since "$t0") s — web UI ${MRI_NAMENODE_HTTP:-http://127.0.0.1:9870}"
}

ingest_sample() {
  # A new user sees data at once: the shipped sample becomes dataset "sample" on first start.
  if ! "$PY" -m engine hdfs ls /mri/datasets/sample/manifest.parquet >/dev/null 2>&1; then
    step "Ingesting the shipped sample (40 real scans) into HDFS as dataset 'sample'"
    "$PY" -m engine dataset ingest assets/sample --name sample 2>/dev/null || note "the sample could not be ingested (see the Dataset page)"
  fi
}

dashboard_running() {
  [[ -f "$DASH_PID" ]] && kill -0 "$(cat "$DASH_PID")" 2>/dev/null
}

setup() {
  mkdir -p "$RUN_DIR" "$CACHE"
  exec 9>"$RUN_DIR/setup.lock"
  flock -w 900 9 || die 1 "Another ./run.sh is still setting up; wait for it to finish."
  check_prerequisites
  setup_venv
  setup_hadoop_jars
  check_settings
  start_hdfs
  ingest_sample
  flock -u 9
}

serve() {
  if dashboard_running; then
    echo "The dashboard is already running at http://localhost:$PORT (pid $(cat "$DASH_PID")); ./run.sh stop stops it."
    exit 0
  fi
  local t_start; t_start="$(now)"
  setup
  if ! "$PY" -c "import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', $PORT))" 2>/dev/null; then
    die 1 "Port $PORT is already in use by another program; stop it or set MRI_DASHBOARD_PORT to a free port."
  fi
  step "Serving the dashboard at http://localhost:$PORT (set-up took $(since "$t_start") s; Ctrl-C stops it, ./run.sh stop stops HDFS too)"
  echo $$ > "$DASH_PID"
  export PYSPARK_PYTHON="$PY"
  exec "$PY" -m streamlit run dashboard/app.py --server.port "$PORT" --server.address "${MRI_BIND_HOST:-127.0.0.1}"
}

run_tests() {
  local t0 hdfs_was_up=0
  t0="$(now)"
  # Leave HDFS as we found it: stop it after the tests only if this run started it.
  if [[ -x "$PY" ]] && "$PY" -c 'import sys; from engine.hdfs import probes; from engine.settings import get_settings; sys.exit(0 if probes.is_ready(get_settings()) else 1)' 2>/dev/null; then
    hdfs_was_up=1
  fi
  setup
  if [[ "${MRI_SKIP_BROWSER_INSTALL:-0}" != "1" ]] && ! command -v chromium >/dev/null 2>&1; then
    step "Installing Debian's chromium for the browser tests"
    if [[ "$(id -u)" == "0" ]]; then
      (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || note "chromium could not be installed; browser tests will be skipped"
    else
      note "not root: install chromium yourself for the browser tests (they are skipped without it)"
    fi
  fi
  step "Checking lint and format (ruff)"
  "$VENV/bin/ruff" check . || die 1 "ruff found problems (above); fix them or run .venv/bin/ruff check --fix ."
  "$VENV/bin/ruff" format --check . >/dev/null || die 1 "Some files are not formatted; run .venv/bin/ruff format . and rerun."
  step "Running the test suite"
  export PYSPARK_PYTHON="$PY"
  local rc=0
  "$PY" -m pytest "$@" || rc=$?
  note "tests finished in $(since "$t0") s (set-up included)"
  if [[ "$hdfs_was_up" == "0" ]]; then
    "$PY" -m engine cluster down >/dev/null || true
  fi
  exit "$rc"
}

stop_all() {
  if dashboard_running; then
    step "Stopping the dashboard (pid $(cat "$DASH_PID"))"
    kill "$(cat "$DASH_PID")" 2>/dev/null || true
    for _ in $(seq 1 50); do dashboard_running || break; sleep 0.1; done
  else
    note "The dashboard is not running"
  fi
  rm -f "$DASH_PID"
  if [[ -x "$PY" ]]; then
    "$PY" -m engine spark down >/dev/null 2>&1 || true
    step "Stopping the local HDFS"
    "$PY" -m engine cluster down || true
  fi
}

case "${1:-serve}" in
  serve|"") serve ;;
  test) shift; run_tests "$@" ;;
  setup) setup ;;
  stop) stop_all ;;
  spark) setup; "$PY" -m engine spark up --workers "${2:-2}" ;;
  -h|--help|help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) die 2 "Unknown command '$1'; use ./run.sh, ./run.sh test, ./run.sh setup or ./run.sh stop." ;;
esac

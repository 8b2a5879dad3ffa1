#!/usr/bin/env bash
# engine.sh — provision and run a private Docker Engine 26 for Buildlane's tests and demos.
#
# What it runs (all from Debian packages; nothing is pulled from Docker Hub):
#   * dockerd 26 + containerd 1.7 (binaries from Debian 13 "trixie", which run unchanged on
#     Debian 12) with the containerd image store, so the engine's embedded BuildKit can push
#     multi-platform images;
#   * a plain-http registry on 127.0.0.1:5055 and an htpasswd-protected one on 127.0.0.1:5056
#     (Debian 12's docker-registry);
#   * QEMU user-mode emulation registered in binfmt_misc (foreign-arch RUN steps);
#   * a locally made multi-arch busybox base image (linux/amd64, linux/arm64, linux/arm/v7)
#     pushed to both registries as busybox:latest.
#
# Usage: engine.sh start|stop|status|env|selftest|reset
# The engine has its own socket, data-root, exec-root and bridge, so it never touches another
# engine, /var/run/docker.sock or ~/.docker.
set -euo pipefail

# ---------------------------------------------------------------------------------------------
# Layout and fixed test settings
# ---------------------------------------------------------------------------------------------
readonly OPT_DIR=/opt/buildlane-engine
readonly BIN_DIR=$OPT_DIR/bin
readonly PLUGIN_DIR=$OPT_DIR/cli-plugins
readonly DATA_DIR=/var/lib/buildlane-engine
readonly CONF_DIR=$DATA_DIR/config
readonly RUN_DIR=/run/buildlane-engine
readonly LOG_DIR=/var/log/buildlane-engine
readonly CACHE_DIR=/var/cache/buildlane-engine
readonly DEB_DIR=$CACHE_DIR/debs

readonly SOCK=$RUN_DIR/docker.sock
readonly ENGINE_HOST=unix://$SOCK
readonly DOCKERD_PID=$RUN_DIR/dockerd.pid
readonly DAEMON_JSON=$CONF_DIR/daemon.json
# Private docker CLI config: our own CLI calls must never read or write ~/.docker.
readonly CLI_CONFIG=$DATA_DIR/docker-config

readonly REGISTRY=127.0.0.1:5055
readonly AUTH_REGISTRY=127.0.0.1:5056
readonly AUTH_USER=buildlane
readonly AUTH_PASSWORD=buildlane-test-password
readonly HTPASSWD=$CONF_DIR/htpasswd

# A dedicated bridge instead of docker0: docker0 belongs to whichever engine creates it first,
# and two engines sharing it would fight over addresses. dockerd only uses a custom-named bridge
# if it already exists, so this script creates it (and gives it its address).
readonly BRIDGE=blane0
readonly BRIDGE_ADDR=10.213.0.1/24
readonly BRIDGE_NET=10.213.0.0/24
readonly ADDRESS_POOL=10.214.0.0/16

readonly BASE_REPO=busybox
readonly BASE_PLATFORMS="linux/amd64,linux/arm/v7,linux/arm64" # sorted, as compared below
readonly QEMU_HANDLERS=(aarch64 arm riscv64 s390x ppc64le)

# Host packages (Debian 12). tini provides docker-init (needed by `--init` containers, e.g. the
# docker-container buildx driver); curl/jq are used by this script's health checks.
readonly HOST_PACKAGES=(runc docker-registry qemu-user-static busybox-static iptables
  apache2-utils tini curl jq iproute2 ca-certificates)
# Packages taken from Debian 13, unpacked only (never installed with dpkg).
readonly TRIXIE_PACKAGES=(docker.io docker-cli containerd docker-buildx)
readonly BUSYBOX_ARCHES=(amd64 arm64 armhf)

readonly SYS_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
readonly INDEX_ACCEPT="application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"

# Every apt-get call waits for the dpkg/apt locks: other scripts may run apt concurrently.
readonly APT=(apt-get -o DPkg::Lock::Timeout=600)

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
log() { printf '[engine] %s\n' "$*" >&2; }
die() {
  printf '[engine] ERROR: %s\n' "$*" >&2
  exit 1
}

CLEANUP_PATHS=()
cleanup() {
  local p
  for p in "${CLEANUP_PATHS[@]}"; do rm -rf -- "$p"; done
}
trap cleanup EXIT

# mktemp_dir PARENT: a temp dir removed when the script exits (returned in $REPLY).
mktemp_dir() {
  mkdir -p "$1"
  REPLY=$(mktemp -d "$1/tmp.XXXXXX")
  CLEANUP_PATHS+=("$REPLY")
}

require_root() { [[ $(id -u) -eq 0 ]] || die "must run as root (it installs packages and runs dockerd)"; }

# Serialise start/stop/selftest: two test processes may call `start` at the same time.
take_lock() {
  mkdir -p "$RUN_DIR"
  exec 9>"$RUN_DIR/engine.lock"
  flock -w 900 9 || die "could not get $RUN_DIR/engine.lock within 15 minutes"
}

# curl that never goes through a proxy (all endpoints here are local).
lcurl() { curl --noproxy '*' --silent --show-error --max-time 10 "$@"; }

# The engine's own docker CLI, with our socket and private config, ignoring any user context.
engine_docker() {
  env -u DOCKER_CONTEXT -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH -u BUILDX_BUILDER -u BUILDX_CONFIG \
    DOCKER_HOST="$ENGINE_HOST" DOCKER_CONFIG="${ENGINE_DOCKER_CONFIG:-$CLI_CONFIG}" \
    "$BIN_DIR/docker" "$@"
}

# pid_of PIDFILE PATTERN: print the pid if it is alive and its command line contains PATTERN
# (guards against a stale pid file whose pid was reused by another process).
pid_of() {
  local pid cmd
  [[ -s $1 ]] || return 1
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
  [[ $cmd == *"$2"* ]] || return 1
  printf '%s\n' "$pid"
}

# launch_daemon LOG PATH CMD...: start CMD detached; its pid goes to $LAUNCHED_PID.
# - every inherited fd above 2 is closed: otherwise the daemon would keep our lock fd (and so
#   the lock) forever, and any pipe of a caller doing `$(engine.sh start)` open;
# - setsid: its own session, so it outlives the calling shell or CI step;
# - env -i: the caller's DOCKER_*, proxy, ... variables must not leak into the daemon.
# The subshell execs setsid, which execs env, which execs CMD: $! is CMD's pid.
LAUNCHED_PID=
launch_daemon() {
  local logfile=$1 path=$2
  shift 2
  (
    cd /
    for fd in /proc/"$BASHPID"/fd/*; do
      fd=${fd##*/}
      if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec setsid env -i PATH="$path" HOME="$DATA_DIR" LANG=C.UTF-8 "$@" \
      </dev/null >>"$logfile" 2>&1
  ) &
  LAUNCHED_PID=$!
}

# wait_until SECONDS COMMAND...: poll every 0.2 s.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

dockerd_pid() { pid_of "$DOCKERD_PID" "$DAEMON_JSON"; }
dockerd_answers() { [[ $(lcurl --max-time 3 --unix-socket "$SOCK" http://localhost/_ping 2>/dev/null) == OK ]]; }
dockerd_up() { dockerd_pid >/dev/null && dockerd_answers; }

registry_pidfile() { printf '%s/%s.pid' "$RUN_DIR" "$1"; }
registry_config() { printf '%s/%s.yml' "$CONF_DIR" "$1"; }
registry_pid() { pid_of "$(registry_pidfile "$1")" "$(registry_config "$1")"; }
# http_code ADDR: status of GET /v2/ (000 when nothing answers).
http_code() { lcurl --max-time 3 -o /dev/null -w '%{http_code}' "http://$1/v2/" 2>/dev/null || true; }
# registry_up NAME ADDR EXPECTED_CODE
registry_up() { registry_pid "$1" >/dev/null && [[ $(http_code "$2") == "$3" ]]; }

# ---------------------------------------------------------------------------------------------
# 1. Host packages (Debian 12)
# ---------------------------------------------------------------------------------------------
ensure_host_packages() {
  local missing=() p status
  for p in "${HOST_PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [[ $status == installed ]] || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0

  log "installing host packages: ${missing[*]}"
  # Update first: a fresh CI image may have no (or stale) package lists. A foreign-arch index
  # hiccup makes `update` exit non-zero without harming what we need, so tolerate it.
  "${APT[@]}" update >>"$LOG_DIR/apt.log" 2>&1 || log "apt-get update reported errors (continuing)"
  DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y --no-install-recommends "${missing[@]}" \
    >>"$LOG_DIR/apt.log" 2>&1 || {
    tail -n 30 "$LOG_DIR/apt.log" >&2
    die "apt-get install ${missing[*]} failed (full log: $LOG_DIR/apt.log)"
  }
}

# ---------------------------------------------------------------------------------------------
# 2. Debian 13 engine binaries and foreign-arch busybox packages, cached as .debs
# ---------------------------------------------------------------------------------------------
# newest_deb NAME ARCH: print the newest cached .deb of a package, fail if none is cached.
newest_deb() {
  local files=("$DEB_DIR/${1}_"*"_${2}.deb")
  [[ -e ${files[0]} ]] || return 1
  printf '%s\n' "${files[@]}" | sort -V | tail -n 1
}

# first_debian_stanza: the machine's own Debian source (first deb822 stanza), so that no mirror
# host name is written in this script. Falls back to the first `deb` line of sources.list.
first_debian_stanza() {
  local f=/etc/apt/sources.list.d/debian.sources
  if [[ -r $f ]]; then
    awk 'BEGIN { RS = "" } NR == 1 { print; exit }' "$f"
    return
  fi
  awk '$1 == "deb" && $2 !~ /^\[/ {
         printf "Types: deb\nURIs: %s\nSuites: %s\nComponents: main\n", $2, $3
         print "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"; exit }' /etc/apt/sources.list
}

# fetch_debs: download whatever .deb is not cached yet. apt runs against a PRIVATE state
# (sources, lists, cache under $CACHE_DIR/apt): the host's apt never sees the trixie suite or
# the foreign architectures, so a concurrent `apt-get install` elsewhere cannot pick up trixie
# packages, and dpkg's architecture list is left alone.
fetch_debs() {
  local wanted=() p a
  for p in "${TRIXIE_PACKAGES[@]}"; do
    newest_deb "$p" amd64 >/dev/null || wanted+=("$p/trixie")
  done
  local stanza native_suite
  stanza=$(first_debian_stanza)
  [[ -n $stanza ]] || die "cannot find the machine's Debian apt source"
  native_suite=$(awk '/^Suites:/ { print $2; exit }' <<<"$stanza")
  for a in "${BUSYBOX_ARCHES[@]}"; do
    newest_deb busybox-static "$a" >/dev/null || wanted+=("busybox-static:$a/$native_suite")
  done
  ((${#wanted[@]} == 0)) && return 0

  log "downloading ${wanted[*]} (cached in $DEB_DIR)"
  local root=$CACHE_DIR/apt
  rm -rf "$root"
  mkdir -p "$root/sources.list.d" "$root/preferences.d" "$root/lists/partial" \
    "$root/cache/archives/partial" "$DEB_DIR"
  {
    sed -E 's/^Suites:.*/Suites: trixie/; /^Architectures:/d' <<<"$stanza"
    echo "Architectures: amd64"
    echo
    sed -E "s/^Suites:.*/Suites: $native_suite/; /^Architectures:/d" <<<"$stanza"
    echo "Architectures: ${BUSYBOX_ARCHES[*]}"
  } >"$root/sources.list.d/buildlane-engine.sources"

  local apt_private=("${APT[@]}"
    -o Dir::Etc::SourceList=/dev/null
    -o Dir::Etc::SourceParts="$root/sources.list.d"
    -o Dir::Etc::PreferencesParts="$root/preferences.d"
    -o Dir::State::Lists="$root/lists"
    -o Dir::Cache="$root/cache"
    -o APT::Sandbox::User=root
    -o Acquire::Languages=none)
  for a in "${BUSYBOX_ARCHES[@]}"; do apt_private+=(-o "APT::Architectures::=$a"); done

  "${apt_private[@]}" update >>"$LOG_DIR/apt.log" 2>&1 ||
    log "private apt-get update reported errors (continuing; the download decides)"
  mktemp_dir "$CACHE_DIR"
  local dl=$REPLY
  (cd "$dl" && "${apt_private[@]}" download "${wanted[@]}") >>"$LOG_DIR/apt.log" 2>&1 || {
    tail -n 30 "$LOG_DIR/apt.log" >&2
    die "apt-get download ${wanted[*]} failed (full log: $LOG_DIR/apt.log)"
  }
  mv -f "$dl"/*.deb "$DEB_DIR/"
  rm -rf "$root" # the private lists are only needed for this download
}

engine_binaries_present() {
  local f
  for f in dockerd containerd containerd-shim-runc-v2 docker-proxy docker; do
    [[ -x $BIN_DIR/$f ]] || return 1
  done
  [[ -x $PLUGIN_DIR/docker-buildx ]]
}

# install_file SRC DEST: copy then rename, so an interrupted run never leaves a half binary.
install_file() {
  [[ -f $1 ]] || die "expected file missing from the package: $1"
  install -m 0755 "$1" "$2.tmp"
  mv -f "$2.tmp" "$2"
}

install_engine_binaries() {
  mkdir -p "$BIN_DIR" "$PLUGIN_DIR"
  if ! engine_binaries_present; then
    fetch_debs
    mktemp_dir "$CACHE_DIR"
    local x=$REPLY p deb
    for p in "${TRIXIE_PACKAGES[@]}"; do
      deb=$(newest_deb "$p" amd64) || die "no cached .deb for $p"
      dpkg -x "$deb" "$x"
    done
    log "installing engine binaries into $BIN_DIR"
    install_file "$x/usr/sbin/dockerd" "$BIN_DIR/dockerd"
    install_file "$x/usr/sbin/docker-proxy" "$BIN_DIR/docker-proxy"
    install_file "$x/usr/bin/docker" "$BIN_DIR/docker"
    install_file "$x/usr/bin/containerd" "$BIN_DIR/containerd"
    install_file "$x/usr/bin/containerd-shim-runc-v2" "$BIN_DIR/containerd-shim-runc-v2"
    install_file "$x/usr/libexec/docker/cli-plugins/docker-buildx" "$PLUGIN_DIR/docker-buildx"
  fi
  # Debian 13's runc needs glibc 2.38, so dockerd uses Debian 12's; pin it (and docker-init)
  # in our bin dir so nothing else on PATH can take their place.
  [[ -L $BIN_DIR/runc ]] || ln -sfn /usr/sbin/runc "$BIN_DIR/runc"
  [[ -L $BIN_DIR/docker-init ]] || ln -sfn /usr/bin/tini-static "$BIN_DIR/docker-init"
  # `docker buildx` must work with the private CLI config.
  mkdir -p "$CLI_CONFIG"
  [[ -L $CLI_CONFIG/cli-plugins ]] || ln -sfn "$PLUGIN_DIR" "$CLI_CONFIG/cli-plugins"
}

# ---------------------------------------------------------------------------------------------
# 3. QEMU emulation
# ---------------------------------------------------------------------------------------------
ensure_binfmt() {
  local dir=/proc/sys/fs/binfmt_misc a conf name
  if [[ ! -e $dir/register ]]; then
    mount -t binfmt_misc binfmt_misc "$dir" || die "cannot mount binfmt_misc on $dir"
  fi
  for a in "${QEMU_HANDLERS[@]}"; do
    conf=/usr/lib/binfmt.d/qemu-$a.conf
    [[ -r $conf ]] || die "$conf missing (is qemu-user-static installed?)"
    name=$(grep -v '^#' "$conf" | head -n 1 | cut -d: -f2)
    [[ -e $dir/$name ]] && continue
    log "registering binfmt handler $name"
    # One write(2) per rule: the kernel parses each write as one registration. The rules carry
    # the F flag (interpreter opened now), so they also work inside containers.
    grep -v '^#' "$conf" | head -n 1 >"$dir/register" || die "cannot register $conf"
  done
  [[ $(head -n 1 "$dir/status") == enabled ]] || echo 1 >"$dir/status"
}

# ---------------------------------------------------------------------------------------------
# 4. dockerd
# ---------------------------------------------------------------------------------------------
# write_if_changed FILE: replace FILE with stdin only when the content differs.
write_if_changed() {
  local tmp=$1.tmp
  cat >"$tmp"
  if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv -f "$tmp" "$1"; fi
}

write_daemon_json() {
  mkdir -p "$CONF_DIR" "$DATA_DIR/docker" "$RUN_DIR/exec"
  write_if_changed "$DAEMON_JSON" <<EOF
{
  "features": { "containerd-snapshotter": true },
  "data-root": "$DATA_DIR/docker",
  "exec-root": "$RUN_DIR/exec",
  "pidfile": "$DOCKERD_PID",
  "hosts": ["$ENGINE_HOST"],
  "bridge": "$BRIDGE",
  "default-address-pools": [{ "base": "$ADDRESS_POOL", "size": 24 }]
}
EOF
}

# The default bridge network must exist (with "bridge": "none" every RUN step fails with
# "network bridge not found"); ours is a dedicated interface, see BRIDGE above.
ensure_bridge() {
  if ! ip link show dev "$BRIDGE" >/dev/null 2>&1; then
    if ip -4 route show "$BRIDGE_NET" | grep -q .; then
      die "$BRIDGE_NET is already routed on this host; change BRIDGE_ADDR in $0"
    fi
    ip link add name "$BRIDGE" type bridge || die "cannot create bridge $BRIDGE"
  fi
  if ! ip -4 -o addr show dev "$BRIDGE" | grep -qF "inet $BRIDGE_ADDR "; then
    ip addr add "$BRIDGE_ADDR" dev "$BRIDGE" || die "cannot give $BRIDGE the address $BRIDGE_ADDR"
  fi
  ip link set dev "$BRIDGE" up
}

start_dockerd() {
  dockerd_up && return 0
  if dockerd_pid >/dev/null; then
    # Running but not answering yet (another `start` just launched it): wait for it below.
    log "dockerd is starting; waiting"
  else
    write_daemon_json
    ensure_bridge
    log "starting dockerd (log: $LOG_DIR/dockerd.log)"
    # dockerd starts its own containerd (found on PATH, like the shim, runc and docker-proxy).
    launch_daemon "$LOG_DIR/dockerd.log" "$BIN_DIR:$SYS_PATH" \
      "$BIN_DIR/dockerd" --config-file "$DAEMON_JSON"
  fi
  if ! wait_until 60 dockerd_up; then
    tail -n 40 "$LOG_DIR/dockerd.log" >&2 || true
    die "dockerd did not answer on $SOCK within 60 s (log above: $LOG_DIR/dockerd.log)"
  fi
  engine_docker info >/dev/null || die "docker info failed against $ENGINE_HOST"
  log "dockerd is up on $ENGINE_HOST"
}

# ---------------------------------------------------------------------------------------------
# 5. Registries
# ---------------------------------------------------------------------------------------------
write_registry_configs() {
  mkdir -p "$CONF_DIR" "$DATA_DIR/registry" "$DATA_DIR/auth-registry"
  write_if_changed "$(registry_config registry)" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $DATA_DIR/registry
  delete:
    enabled: true
http:
  addr: $REGISTRY
  secret: buildlane-engine-registry
EOF
  write_if_changed "$(registry_config auth-registry)" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $DATA_DIR/auth-registry
  delete:
    enabled: true
http:
  addr: $AUTH_REGISTRY
  secret: buildlane-engine-auth-registry
auth:
  htpasswd:
    realm: buildlane-test
    path: $HTPASSWD
EOF
  # The registry only accepts bcrypt entries; regenerate when missing or wrong.
  if ! htpasswd -vb "$HTPASSWD" "$AUTH_USER" "$AUTH_PASSWORD" >/dev/null 2>&1; then
    htpasswd -Bbc "$HTPASSWD" "$AUTH_USER" "$AUTH_PASSWORD" 2>/dev/null ||
      die "cannot write $HTPASSWD"
  fi
}

# start_registry NAME ADDR EXPECTED_V2_CODE
start_registry() {
  local name=$1 addr=$2 code=$3
  registry_up "$name" "$addr" "$code" && return 0
  if ! registry_pid "$name" >/dev/null; then
    [[ $(http_code "$addr") == 000 ]] || die "something else already listens on $addr"
    log "starting $name on $addr (log: $LOG_DIR/$name.log)"
    launch_daemon "$LOG_DIR/$name.log" "$SYS_PATH" \
      /usr/bin/docker-registry serve "$(registry_config "$name")"
    echo "$LAUNCHED_PID" >"$(registry_pidfile "$name")"
  fi
  if ! wait_until 30 registry_up "$name" "$addr" "$code"; then
    tail -n 20 "$LOG_DIR/$name.log" >&2 || true
    die "$name did not answer $code on http://$addr/v2/ within 30 s"
  fi
}

start_registries() {
  write_registry_configs
  start_registry registry "$REGISTRY" 200
  start_registry auth-registry "$AUTH_REGISTRY" 401
}

# ---------------------------------------------------------------------------------------------
# 6. Multi-arch busybox base image
# ---------------------------------------------------------------------------------------------
# busybox_platforms ADDR [CURL ARGS...]: sorted, comma-joined platforms of busybox:latest.
busybox_platforms() {
  local addr=$1
  shift
  lcurl --fail "$@" -H "Accept: $INDEX_ACCEPT" "http://$addr/v2/$BASE_REPO/manifests/latest" 2>/dev/null |
    jq -r '[.manifests[]?.platform | select(.os != "unknown")
            | .os + "/" + .architecture + (if .variant then "/" + .variant else "" end)]
           | sort | join(",")' 2>/dev/null || true
}

base_image_ok() { [[ $(busybox_platforms "$REGISTRY") == "$BASE_PLATFORMS" ]]; }
auth_base_image_ok() {
  [[ $(busybox_platforms "$AUTH_REGISTRY" -u "$AUTH_USER:$AUTH_PASSWORD") == "$BASE_PLATFORMS" ]]
}

# make_rootfs_tar DEB_ARCH OUT_TAR: bin/busybox, its applet links, /tmp and a minimal /etc.
make_rootfs_tar() {
  mktemp_dir "$CACHE_DIR"
  local x=$REPLY deb root applets
  root=$x/rootfs
  deb=$(newest_deb busybox-static "$1") || die "no cached busybox-static .deb for $1"
  dpkg -x "$deb" "$x/pkg"
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,var/tmp,proc,sys,dev}
  install -m 0755 "$x/pkg/bin/busybox" "$root/bin/busybox"
  # The applet list as the binary itself reports it (foreign arches run through QEMU, which is
  # registered by now); fall back to a fixed list if that fails.
  if ! applets=$("$root/bin/busybox" --list-full 2>/dev/null) || [[ -z $applets ]]; then
    applets=$(printf 'bin/%s\n' sh ls cat uname echo sleep mkdir rm cp mv true false env grep \
      sed head tail wc printf test find chmod id date touch ln tar gzip)
  fi
  local a
  while IFS= read -r a; do
    [[ -n $a && $a != bin/busybox ]] || continue
    mkdir -p "$root/$(dirname "$a")"
    ln -sfn /bin/busybox "$root/$a"
  done <<<"$applets"
  [[ -e $root/usr/bin/env ]] || ln -sfn /bin/busybox "$root/usr/bin/env" # `#!/usr/bin/env sh`
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  chmod 1777 "$root/tmp" "$root/var/tmp"
  chmod 0700 "$root/root"
  # Fixed owner and mtime: the layer is byte-identical across runs.
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$root" -cf "$2" .
}

push_base_image() {
  local refs=() arch platform tag tar
  mktemp_dir "$CACHE_DIR"
  local tmp=$REPLY
  for arch in "${BUSYBOX_ARCHES[@]}"; do
    case $arch in
      amd64) platform=linux/amd64 ;;
      arm64) platform=linux/arm64 ;;
      armhf) platform=linux/arm/v7 ;;
    esac
    tag=$REGISTRY/$BASE_REPO:${platform//\//-}
    tar=$tmp/$arch.tar
    make_rootfs_tar "$arch" "$tar"
    log "importing $tag ($platform)"
    engine_docker import --platform "$platform" \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["sh"]' "$tar" "$tag" >/dev/null || die "docker import $tag failed"
    engine_docker push --quiet "$tag" >/dev/null || die "docker push $tag failed"
    refs+=("$tag")
  done
  log "creating $REGISTRY/$BASE_REPO:latest (${BASE_PLATFORMS})"
  engine_docker buildx imagetools create --tag "$REGISTRY/$BASE_REPO:latest" "${refs[@]}" >&2 ||
    die "buildx imagetools create $REGISTRY/$BASE_REPO:latest failed"
  # Leave the engine's image store empty: tests should not see the seeding leftovers.
  engine_docker image rm "${refs[@]}" >/dev/null 2>&1 || true
}

# The auth registry gets the same index; log in with a throw-away CLI config.
push_auth_base_image() {
  mktemp_dir "$DATA_DIR"
  local cfg=$REPLY
  ln -s "$PLUGIN_DIR" "$cfg/cli-plugins"
  log "copying $BASE_REPO:latest to $AUTH_REGISTRY"
  printf '%s' "$AUTH_PASSWORD" |
    ENGINE_DOCKER_CONFIG=$cfg engine_docker login --username "$AUTH_USER" --password-stdin \
      "$AUTH_REGISTRY" >/dev/null 2>&1 || die "docker login $AUTH_REGISTRY failed"
  ENGINE_DOCKER_CONFIG=$cfg engine_docker buildx imagetools create \
    --tag "$AUTH_REGISTRY/$BASE_REPO:latest" "$REGISTRY/$BASE_REPO:latest" >&2 ||
    die "copying $BASE_REPO:latest to $AUTH_REGISTRY failed"
}

ensure_base_image() {
  if ! base_image_ok; then
    push_base_image
    base_image_ok || die "$REGISTRY/$BASE_REPO:latest does not list $BASE_PLATFORMS"
  fi
  if ! auth_base_image_ok; then
    push_auth_base_image
    auth_base_image_ok || die "$AUTH_REGISTRY/$BASE_REPO:latest does not list $BASE_PLATFORMS"
  fi
}

# ---------------------------------------------------------------------------------------------
# Stop
# ---------------------------------------------------------------------------------------------
# proc_gone PID: exited (a zombie waiting for its reaper counts as gone).
proc_gone() {
  local state
  [[ -e /proc/$1 ]] || return 0
  state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
  [[ -z $state || $state == Z ]]
}

# stop_process NAME PID TIMEOUT: SIGTERM, wait, SIGKILL only as a last resort.
stop_process() {
  local name=$1 pid=$2 timeout=$3
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || return 0
  if ! wait_until "$timeout" proc_gone "$pid"; then
    log "$name did not exit within ${timeout}s after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 10 proc_gone "$pid" || die "$name (pid $pid) does not die"
  fi
}

stop_dockerd() {
  local pid
  if pid=$(dockerd_pid); then
    # dockerd stops its containers (15 s grace) and its managed containerd.
    stop_process dockerd "$pid" 60
  else
    log "dockerd is not running"
  fi
  rm -f "$DOCKERD_PID"
  # A containerd left behind by a killed dockerd.
  if pid=$(pid_of "$RUN_DIR/exec/containerd/containerd.pid" "$RUN_DIR/exec/containerd"); then
    stop_process containerd "$pid" 20
  fi
}

cmd_stop() {
  require_root
  take_lock
  local pid name
  stop_dockerd
  for name in registry auth-registry; do
    if pid=$(registry_pid "$name"); then
      stop_process "$name" "$pid" 20
    else
      log "$name is not running"
    fi
    rm -f "$(registry_pidfile "$name")"
  done
  log "stopped (data kept in $DATA_DIR)"
}

# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------
prepare_dirs() {
  mkdir -p "$OPT_DIR" "$DATA_DIR" "$CONF_DIR" "$RUN_DIR" "$LOG_DIR" "$CACHE_DIR" "$DEB_DIR"
  chmod 0700 "$CONF_DIR" # holds the htpasswd file
}

cmd_start() {
  require_root
  [[ $(dpkg --print-architecture) == amd64 ]] || die "only an amd64 host is supported"
  prepare_dirs
  take_lock
  ensure_host_packages
  install_engine_binaries
  ensure_binfmt
  start_dockerd
  start_registries
  ensure_base_image
  log "ready: DOCKER_HOST=$ENGINE_HOST, registries $REGISTRY and $AUTH_REGISTRY (eval \"\$($0 env)\")"
}

# Stops dockerd and removes its data root, so the next `start` runs the engine a fresh machine has:
# what earlier runs left (containers, images, BuildKit's cache and build history) goes; the
# registries and their base image stay. Left to grow (1,391 images after a day of test runs) the
# containerd store took 25 s to list its images, longer than the tests wait, and removing them one
# by one took longer still.
cmd_reset() {
  require_root
  take_lock
  stop_dockerd
  # dockerd bind-mounts its data root onto itself; a killed container may leave mounts under it.
  findmnt -rn -o TARGET | awk -v root="$DATA_DIR/docker" '$0 == root || index($0, root "/") == 1' |
    sort -r | xargs -r -n1 umount -l
  log "removing the engine's data ($DATA_DIR/docker)"
  rm -rf "$DATA_DIR/docker"
}

cmd_status() {
  local ok=0 pid
  if dockerd_up; then
    printf '%-14s running (pid %s, %s)\n' dockerd "$(dockerd_pid)" "$ENGINE_HOST"
  else
    printf '%-14s stopped\n' dockerd
    ok=1
  fi
  if registry_up registry "$REGISTRY" 200; then
    printf '%-14s running (pid %s, http://%s)\n' registry "$(registry_pid registry)" "$REGISTRY"
  else
    printf '%-14s stopped\n' registry
    ok=1
  fi
  if registry_up auth-registry "$AUTH_REGISTRY" 401; then
    pid=$(registry_pid auth-registry)
    printf '%-14s running (pid %s, http://%s, htpasswd user %s)\n' auth-registry "$pid" \
      "$AUTH_REGISTRY" "$AUTH_USER"
  else
    printf '%-14s stopped\n' auth-registry
    ok=1
  fi
  local h handlers=()
  for h in "${QEMU_HANDLERS[@]}"; do
    [[ -e /proc/sys/fs/binfmt_misc/qemu-$h ]] && handlers+=("$h")
  done
  printf '%-14s %s\n' binfmt "${handlers[*]:-none}"
  if ((ok == 0)); then
    printf '%-14s %s\n' base-image "$(busybox_platforms "$REGISTRY" || true)"
  fi
  return "$ok"
}

cmd_env() {
  cat <<EOF
export DOCKER_HOST=$ENGINE_HOST
export BUILDLANE_REGISTRY=$REGISTRY
export BUILDLANE_ENGINE_BIN=$BIN_DIR
export BUILDLANE_BUILDX=$PLUGIN_DIR/docker-buildx
export BUILDLANE_AUTH_REGISTRY=$AUTH_REGISTRY
export BUILDLANE_AUTH_HTPASSWD_USER=$AUTH_USER
export BUILDLANE_AUTH_HTPASSWD_PASSWORD=$AUTH_PASSWORD
EOF
}

# selftest: the end-to-end checks, kept out of `start` so that start stays fast.
cmd_selftest() {
  require_root
  cmd_status >/dev/null || die "the engine is not running; run: $0 start"
  take_lock
  local out ref=$REGISTRY/buildlane-selftest:latest
  log "selftest: docker run $REGISTRY/$BASE_REPO:latest uname -m"
  out=$(engine_docker run --rm "$REGISTRY/$BASE_REPO:latest" uname -m) || die "docker run failed"
  [[ $out == x86_64 ]] || die "expected x86_64, got '$out'"

  log "selftest: buildx build --platform linux/amd64,linux/arm64,linux/arm/v7 --push $ref"
  mktemp_dir "$CACHE_DIR"
  local ctx=$REPLY
  printf 'FROM %s/%s:latest\nRUN uname -m > /m\n' "$REGISTRY" "$BASE_REPO" >"$ctx/Dockerfile"
  engine_docker buildx build --progress plain --no-cache \
    --platform linux/amd64,linux/arm64,linux/arm/v7 --tag "$ref" --push "$ctx" >&2 ||
    die "buildx build --push failed"
  local platforms
  platforms=$(lcurl --fail -H "Accept: $INDEX_ACCEPT" "http://$REGISTRY/v2/buildlane-selftest/manifests/latest" |
    jq -r '[.manifests[].platform | select(.os != "unknown") | .os + "/" + .architecture + (if .variant then "/" + .variant else "" end)] | sort | join(",")')
  [[ $platforms == "$BASE_PLATFORMS" ]] || die "pushed index lists '$platforms'"

  local p expected
  for p in linux/amd64:x86_64 linux/arm64:aarch64 linux/arm/v7:armv7l; do
    expected=${p##*:}
    out=$(engine_docker run --rm --pull always --platform "${p%:*}" "$ref" cat /m) ||
      die "docker run --platform ${p%:*} failed"
    [[ $out == "$expected" ]] || die "${p%:*}: expected $expected, got '$out'"
    log "selftest: ${p%:*} RUN step saw $out"
  done

  log "selftest: auth registry refuses anonymous access and serves $BASE_REPO:latest to $AUTH_USER"
  [[ $(http_code "$AUTH_REGISTRY") == 401 ]] || die "$AUTH_REGISTRY does not ask for credentials"
  auth_base_image_ok || die "$AUTH_REGISTRY/$BASE_REPO:latest is missing or incomplete"

  engine_docker image rm "$ref" "$REGISTRY/$BASE_REPO:latest" >/dev/null 2>&1 || true
  log "selftest passed"
}

main() {
  case ${1:-} in
    start) cmd_start ;;
    reset) cmd_reset ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) cmd_env ;;
    selftest) cmd_selftest ;;
    *)
      echo "usage: $0 start|stop|status|env|selftest|reset" >&2
      exit 2
      ;;
  esac
}

main "$@"

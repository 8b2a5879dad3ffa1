#!/usr/bin/env bash
# Installs what building, running and testing Buildlane needs on Debian 12 / Ubuntu, skipping what is
# already there: the WebKitGTK stack Tauri links against, Xvfb and WebKitWebDriver for the window
# tests, hyperfine for benchmarks, the sshd the ssh engine tests start on loopback (openssh-server),
# tauri-driver, and the UI's npm packages.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { printf 'setup: %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_packages=(
  libwebkit2gtk-4.1-dev build-essential curl wget file libxdo-dev libssl-dev
  libayatana-appindicator3-dev librsvg2-dev pkg-config
  xvfb xauth webkit2gtk-driver imagemagick x11-apps hyperfine nodejs npm
  openssh-server
)

missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# Node and npm may come from elsewhere than Debian (as on these machines); only the commands matter.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for pkg in "${missing[@]}"; do
    case "$pkg" in nodejs | npm) ;; *) filtered+=("$pkg") ;; esac
  done
  missing=("${filtered[@]}")
fi
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  # apt-get update can fail on a foreign-architecture index hiccup; the install below says if it matters.
  as_root apt-get -o DPkg::Lock::Timeout=600 update -qq || log "apt-get update reported a problem; continuing"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v tauri-driver >/dev/null; then
  log "installing tauri-driver"
  cargo install tauri-driver --version '^2' --locked --quiet
fi

if [ ! -d "$root/ui/node_modules" ] || [ "$root/ui/package-lock.json" -nt "$root/ui/node_modules/.package-lock.json" ]; then
  log "installing the UI's npm packages"
  (cd "$root/ui" && npm ci --no-audit --no-fund --loglevel=error)
fi
log "ready"

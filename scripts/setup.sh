#!/usr/bin/env bash
# Installs what webfer needs on a fresh machine: a WebGPU-capable Vulkan driver (Mesa lavapipe
# from bookworm-backports when no driver is present), node modules, and optionally Chromium for
# the browser tests. Idempotent and quick when everything is there.
#   scripts/setup.sh            driver + node modules
#   scripts/setup.sh --browser  also Chromium (browser tests)
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0
for arg in "$@"; do
  case "$arg" in
    --browser) want_browser=1 ;;
    *) echo "setup: unknown option $arg" >&2; exit 2 ;;
  esac
done

log() { printf 'setup: %s\n' "$*" >&2; }
is_root() { [ "$(id -u)" = 0 ]; }
have_debian_apt() { command -v apt-get >/dev/null && [ -f /etc/debian_version ]; }

# Dawn refuses Mesa older than ~24; lavapipe's ICD file tells which Mesa is installed.
lavapipe_version() {
  dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true
}

lavapipe_ok() {
  local v; v=$(lavapipe_version)
  [ -n "$v" ] && dpkg --compare-versions "$v" ge 24 && dpkg-query -W -f='${Status}' libvulkan1 2>/dev/null | grep -q installed
}

apt_updated=0
apt_install() {
  if [ $apt_updated = 0 ]; then apt-get update -qq >&2; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

install_lavapipe() {
  local codename; codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  if [ "$codename" = bookworm ]; then
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      log "adding bookworm-backports (Mesa 25 lavapipe; bookworm's own 22.3 is refused by Dawn)"
      printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        > /etc/apt/sources.list.d/webfer-backports.sources
      apt_updated=0
    fi
    apt_install -t bookworm-backports mesa-vulkan-drivers libvulkan1
  else
    apt_install mesa-vulkan-drivers libvulkan1
  fi
}

if lavapipe_ok || [ -n "${WEBFER_SKIP_DRIVER:-}" ]; then
  :
elif is_root && have_debian_apt; then
  log "installing Mesa lavapipe (software Vulkan)"
  install_lavapipe
elif ! ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json >/dev/null 2>&1; then
  log "no Vulkan driver found. As root on Debian bookworm run:"
  log "  echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list"
  log "  apt-get update && apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1"
fi

if [ $want_browser = 1 ] && ! command -v chromium >/dev/null; then
  if is_root && have_debian_apt; then
    log "installing Chromium (browser tests)"
    apt_install chromium
  else
    log "Chromium not found: install Debian's 'chromium' package for the browser tests"
  fi
fi

# The PNG charts (resvg) draw text only with an installed font; Debian's default is DejaVu Sans.
if [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] && have_debian_apt; then
  if is_root; then
    log "installing fonts-dejavu-core (text in the PNG charts)"
    apt_install fonts-dejavu-core
  else
    log "no DejaVu fonts: as root run 'apt-get install fonts-dejavu-core' for text in the PNG charts"
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing node modules"
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund >&2; else npm install --no-audit --no-fund >&2; fi
fi

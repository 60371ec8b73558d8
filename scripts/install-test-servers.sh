#!/usr/bin/env bash
# Install what the integration tests need besides Python packages:
#   - PHP 8 with the SQLite, intl, mbstring and XML extensions (Debian packages), and
#   - MediaWiki's code from Debian's `mediawiki` package, unpacked into a cache folder
#     (served by PHP's built-in server: nothing written under /usr/share or /etc).
#   - udata, the portal software of data.gouv.fr, in its own virtual environment `.venv-udata`
#     (tests/test_udata.py runs its DCAT harvester; udata pins many dependencies of its own).
#     A few minutes the first time; a failure is reported and the udata test then skips, or
#     fails under CI=true.
#   - Debian's chromium and chromium-driver (tests/test_site.py drives a real headless browser
#     with Selenium; no browser download), nginx and apache2 (tests/test_site.py runs the
#     nginx example and the w3id.org rules of docs/deploy/, each on a loopback port with a
#     configuration of its own; the services are not enabled).
# The Oxigraph server comes from PyPI (the `oxigraph` package in the `test` extra).
# Needs root (or sudo) for apt-get when PHP is missing. Idempotent: does nothing when all is there.
set -euo pipefail

MW_DEB_CACHE=${MW_DEB_CACHE:-$HOME/.cache/mediawiki-deb}
PHP_PKGS="php-cli php-sqlite3 php-intl php-mbstring php-xml"
log() { printf '[install-test-servers] %s\n' "$*" >&2; }

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else SUDO="none"; fi
fi
apt_get() {
  if [ "$SUDO" = none ]; then
    log "need root to run: apt-get $*"; return 1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get "$@"
}

php_ok() {
  command -v php >/dev/null 2>&1 &&
    php -r 'foreach (["pdo_sqlite","intl","mbstring","xml","dom"] as $e) if (!extension_loaded($e)) exit(1);'
}

if ! php_ok; then
  log "installing PHP: $PHP_PKGS"
  apt_get install -y -q --no-install-recommends $PHP_PKGS >&2 ||
    { apt_get update -q >&2 && apt_get install -y -q --no-install-recommends $PHP_PKGS >&2; }
fi

if [ -f "${MW_CORE:-/nonexistent}/api.php" ] || [ -f /usr/share/mediawiki/api.php ] ||
   [ -f "$MW_DEB_CACHE/usr/share/mediawiki/api.php" ]; then
  log "MediaWiki code present"
else
  log "unpacking Debian's mediawiki .deb into $MW_DEB_CACHE"
  dl=$(mktemp -d); chmod 755 "$dl"   # readable by apt's _apt user
  ( cd "$dl" && { apt_get download mediawiki mediawiki-classes >&2 ||
                  { apt_get update -q >&2 && apt_get download mediawiki mediawiki-classes >&2; }; } )
  mkdir -p "$MW_DEB_CACHE"
  for f in "$dl"/*.deb; do dpkg-deb -x "$f" "$MW_DEB_CACHE"; done
  rm -rf "$dl"
fi
php_ok && log "PHP $(php -r 'echo PHP_VERSION;') ready"

# a real browser for the site tests, nginx for the static-host example and Apache for the
# w3id.org rules (docs/deploy/)
SITE_PKGS="chromium chromium-driver nginx apache2"
site_ok() {
  command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 &&
    { command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; } &&
    [ -x /usr/sbin/apache2 ] && [ -f /usr/lib/apache2/modules/mod_rewrite.so ]
}
if site_ok; then
  log "chromium, chromedriver, nginx and apache2 present"
else
  log "installing $SITE_PKGS"
  apt_get install -y -q --no-install-recommends $SITE_PKGS >&2 ||
    { apt_get update -q >&2 && apt_get install -y -q --no-install-recommends $SITE_PKGS >&2; } ||
    log "could not install $SITE_PKGS: the browser tests will skip (or fail under CI=true)"
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
UDATA_VENV=${UDATA_VENV:-$ROOT/.venv-udata}
UDATA_PKGS="udata==17.18.0 mongomock==4.3.0"
if [ -x "$UDATA_VENV/bin/python" ] && "$UDATA_VENV/bin/python" -c 'import udata, mongomock' 2>/dev/null; then
  log "udata present in $UDATA_VENV"
else
  log "installing $UDATA_PKGS into $UDATA_VENV (a few minutes)"
  if ! { "${PYTHON:-python3}" -m venv "$UDATA_VENV" &&
         "$UDATA_VENV/bin/python" -m pip install -q $UDATA_PKGS >&2; }; then
    log "could not install udata: tests/test_udata.py will skip (or fail under CI=true)"
  fi
fi

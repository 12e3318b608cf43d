#!/usr/bin/env bash
# The field app as an enumerator's laptop gets it: builds the .deb, installs it with
# dpkg, checks what it put where (binary, desktop entry in English and Arabic, icons),
# runs the smoke test against the installed binary under Xvfb, and removes it again.
#
# The .deb is bundled from the debug build the suite already made (`tauri bundle`,
# about 2 s), not rebuilt: a release build takes about 15 minutes on 2 cores. For a
# release installer, `npx tauri build` in src-tauri (see the README).
set -euo pipefail
cd "$(dirname "$0")/.."
target=$(realpath -m "${CARGO_TARGET_DIR:-target}")
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

[ -f ui/dist/index.html ] || (cd ui && npm run build)
cargo build --workspace --all-targets
rm -rf "$target/debug/bundle/deb"
(cd src-tauri && ../ui/node_modules/.bin/tauri bundle --debug --bundles deb)
deb=$(ls "$target"/debug/bundle/deb/*.deb)
echo "== built $(basename "$deb") ($(du -h "$deb" | cut -f1))"

package=$(dpkg-deb -f "$deb" Package)
[ "$package" = dtm-field ] || { echo "the package is called $package, not dtm-field" >&2; exit 1; }
dpkg-deb -f "$deb" Depends | grep -q libwebkit2gtk-4.1 || { echo "the .deb must depend on WebKitGTK 4.1" >&2; exit 1; }
desktop=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards '*/applications/*.desktop')
for line in 'Exec=dtm-field' 'Name=DTM Field' 'Name\[ar\]=' 'Comment\[ar\]=' 'Icon=dtm-field'; do
  grep -q "^$line" <<<"$desktop" || { echo "the desktop entry lacks $line:"$'\n'"$desktop" >&2; exit 1; }
done

removed=0
remove() {
  if [ "$removed" = 0 ]; then
    $SUDO dpkg -r "$package" >/dev/null
    removed=1
  fi
}
trap remove EXIT
echo "== dpkg -i"
$SUDO dpkg -i "$deb" >/dev/null
installed=$(command -v dtm-field)
[ "$installed" = /usr/bin/dtm-field ] || { echo "dtm-field is not on PATH at /usr/bin after dpkg -i" >&2; exit 1; }
for size in 32x32 128x128 512x512; do
  [ -f "/usr/share/icons/hicolor/$size/apps/dtm-field.png" ] || { echo "no $size icon installed" >&2; exit 1; }
done

echo "== smoke test of the installed $installed"
DTM_FIELD_BIN="$installed" scripts/tauri-smoke/run.sh

remove
if dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
  echo "dpkg -r left $package installed" >&2
  exit 1
fi
[ ! -e /usr/bin/dtm-field ] || { echo "/usr/bin/dtm-field is still there after dpkg -r" >&2; exit 1; }
echo "== installed, smoke-tested and removed"

#!/usr/bin/env bash
# Builds the Debian package with cargo-deb (installed with `cargo install
# cargo-deb --locked` when missing; that takes a few minutes once), lists its
# contents with `dpkg-deb -c` and fails unless every file an operator relies
# on is in it. Needs a release build (a few minutes on 2 cores).
# Usage: scripts/package.sh   (prints the path of the .deb last)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! cargo deb --version >/dev/null 2>&1; then
  echo "package: installing cargo-deb" >&2
  cargo install cargo-deb --locked
fi
deb=$(cargo deb | tail -n 1)
[ -f "$deb" ] || { echo "package: cargo deb did not report a .deb ($deb)" >&2; exit 1; }
contents=$(dpkg-deb -c "$deb")
echo "$contents"
dpkg-deb -f "$deb" Package Version Architecture Depends Installed-Size
missing=0
for path in \
  ./usr/bin/scaler \
  ./usr/share/man/man1/scaler.1.gz \
  ./usr/share/bash-completion/completions/scaler \
  ./usr/share/zsh/vendor-completions/_scaler \
  ./usr/share/fish/vendor_completions.d/scaler.fish \
  ./etc/scaler/scaler.toml \
  ./usr/lib/systemd/system/scaler.service \
  ./usr/lib/systemd/system/scaler.timer \
  ./usr/lib/sysusers.d/scaler.conf \
  ./usr/lib/tmpfiles.d/scaler.conf \
  ./usr/share/doc/scaler/examples/sip.toml \
  ./usr/share/doc/scaler/examples/simulate/burst-buffer.toml \
  ./usr/share/doc/scaler/examples/trace-workday.csv \
  ./usr/share/doc/scaler/examples/crontab; do
  if ! grep -q " ${path}\$" <<<"$contents"; then
    echo "package: $path is missing from $deb" >&2
    missing=1
  fi
done
conffiles=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)
grep -qx /etc/scaler/scaler.toml <<<"$conffiles" || { echo "package: /etc/scaler/scaler.toml is not a conffile" >&2; missing=1; }
# The postinst creates the scaler user the unit runs as.
postinst=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./postinst)
grep -q 'systemd-sysusers scaler.conf' <<<"$postinst" || { echo "package: the postinst does not create the scaler user" >&2; missing=1; }
maintainer=$(dpkg-deb -f "$deb" Maintainer)
case "$maintainer" in *@localhost*|"") echo "package: Maintainer is not a real address: $maintainer" >&2; missing=1 ;; esac
[ "$missing" = 0 ] || exit 1
# The packaged binary runs and accepts the packaged configuration.
unpacked=$(mktemp -d)
trap 'rm -rf "$unpacked"' EXIT
dpkg-deb -x "$deb" "$unpacked"
"$unpacked/usr/bin/scaler" --version
env -i PATH="$PATH" "$unpacked/usr/bin/scaler" -c "$unpacked/etc/scaler/scaler.toml" check --offline
# Its sysusers.d and tmpfiles.d files make the unit's user and directories
# (applied to a scratch root, not to this machine).
systemd-sysusers --root="$unpacked" scaler.conf
uid=$(awk -F: '$1 == "scaler" { print $3 }' "$unpacked/etc/passwd")
[ -n "$uid" ] || { echo "package: sysusers.d made no scaler user" >&2; exit 1; }
systemd-tmpfiles --root="$unpacked" --create scaler.conf
for dir in run/scaler var/lib/scaler; do
  [ "$(stat -c %u "$unpacked/$dir")" = "$uid" ] || { echo "package: /$dir is not the scaler user's" >&2; exit 1; }
done
# The packaged simulation example runs on the packaged trace.
env -i PATH="$PATH" "$unpacked/usr/bin/scaler" -c "$unpacked/usr/share/doc/scaler/examples/sip.toml" \
  simulate --trace "$unpacked/usr/share/doc/scaler/examples/trace-workday.csv" >/dev/null
echo "package: ok"
echo "$deb"

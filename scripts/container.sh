#!/usr/bin/env bash
# Builds the container image localhost/scaler:<version> FROM scratch, without
# pulling any image: assembles a minimal root file tree from this machine's
# files (the release binary, exactly the shared libraries `ldd` lists for it,
# CA certificates, zoneinfo, a numeric non-root user 10001, /etc/scaler,
# /var/lib/scaler and /run/scaler owned by that user, the example
# configurations) into rootfs.tar, puts it beside container/Containerfile in
# a build context, and builds that context with podman (or docker).
#
# Usage: scripts/container.sh [--binary PATH] [--tag NAME] [--context DIR]
#                             [--engine podman|docker] [--no-build]
#   --binary   the scaler binary to ship (default: `cargo build --release`)
#   --tag      the image name (default: localhost/scaler:<the binary's version>)
#   --context  where to assemble the build context (default: target/container)
#   --engine   what builds it (default: podman, else docker)
#   --no-build only assemble the context, for `docker build -t NAME DIR`
# Prints the image name (with --no-build: the context directory) last.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

binary="" tag="" context="$repo/target/container" engine="" build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --tag) tag=$2; shift 2 ;;
    --context) context=$2; shift 2 ;;
    --engine) engine=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "container: unknown argument $1 (see --help)" >&2; exit 64 ;;
  esac
done
say() { echo "container: $*" >&2; }

# The user the passes run as: numeric, so no name lookup is needed anywhere.
uid=10001 gid=10001

if [ -z "$binary" ]; then
  cargo build --release --locked >&2
  binary=$repo/target/release/scaler
fi
[ -x "$binary" ] || { say "$binary is not an executable"; exit 1; }
version=$("$binary" --version | awk '{ print $2 }')
[ -n "$version" ] || { say "$binary --version printed no version"; exit 1; }
tag=${tag:-localhost/scaler:$version}

# Only what this script writes is replaced: --context may name any directory.
root=$context/rootfs
rm -rf "$root" "$context/rootfs.tar" "$context/Containerfile"
mkdir -p "$context"
mkdir -p "$root"/usr/bin "$root"/etc/scaler "$root"/etc/ssl/certs "$root"/var/lib/scaler \
  "$root"/run/scaler "$root"/tmp "$root"/usr/share/doc/scaler/examples/simulate
strip -o "$root/usr/bin/scaler" "$binary"
chmod 0755 "$root/usr/bin/scaler"

# Exactly the shared libraries the binary links, at the paths the dynamic
# loader looks for them (files, not the host's symlinks).
libraries=$(ldd "$binary" | awk '/not found/ { print "MISSING " $1; next } { for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }')
if grep -q '^MISSING' <<<"$libraries"; then
  say "ldd cannot find: $(grep '^MISSING' <<<"$libraries" | cut -d' ' -f2 | tr '\n' ' ')"
  exit 1
fi
for library in $libraries; do
  mkdir -p "$root$(dirname "$library")"
  cp -L "$library" "$root$library"
done

# CA certificates (scaler's own TLS uses its built-in Mozilla roots; the
# bundle is for what an operator adds) and zoneinfo (the image's local
# time is UTC; schedule.timezone names are built into scaler).
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
mkdir -p "$root/usr/share"
cp -a /usr/share/zoneinfo "$root/usr/share/"
ln -s /usr/share/zoneinfo/Etc/UTC "$root/etc/localtime"
echo "Etc/UTC" > "$root/etc/timezone"

cat > "$root/etc/passwd" <<EOF
root:x:0:0:root:/root:/sbin/nologin
scaler:x:$uid:$gid:scaler, media gateway pool autoscaler:/var/lib/scaler:/sbin/nologin
EOF
cat > "$root/etc/group" <<EOF
root:x:0:
scaler:x:$gid:
EOF
cat > "$root/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
hosts: files dns
EOF
cp examples/*.toml "$root/usr/share/doc/scaler/examples/"
cp examples/simulate/*.toml "$root/usr/share/doc/scaler/examples/simulate/"
cp examples/compose.yml "$root/usr/share/doc/scaler/examples/"
chmod -R u=rwX,go=rX "$root/etc" "$root/usr"
chmod 0750 "$root/var/lib/scaler" "$root/run/scaler"
chmod 1777 "$root/tmp"

# Everything belongs to root but the user's two directories; fixed times and
# order make the archive depend on its contents only.
mtime=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
tar_options=(--sort=name --mtime="@$mtime" --numeric-owner --format=posix
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime)
tar -C "$root" "${tar_options[@]}" --owner=0 --group=0 \
  --exclude=./var/lib/scaler --exclude=./run/scaler -cf "$context/rootfs.tar" .
tar -C "$root" "${tar_options[@]}" --owner=$uid --group=$gid \
  -rf "$context/rootfs.tar" ./var/lib/scaler ./run/scaler
rm -rf "$root"
cp container/Containerfile "$context/Containerfile"
say "context $context: rootfs.tar $(du -h "$context/rootfs.tar" | cut -f1) (scaler $version, $(wc -w <<<"$libraries") libraries)"

if [ "$build" = 0 ]; then
  echo "$context"
  exit 0
fi
if [ -z "$engine" ]; then
  if command -v podman >/dev/null; then engine=podman; else engine=docker; fi
fi
case "$engine" in
  # No RUN step: the build needs neither a network nor a container runtime.
  podman) podman build --quiet --layers=false --network=host --isolation=chroot --build-arg "VERSION=$version" \
            -t "$tag" -f "$context/Containerfile" "$context" >&2 ;;
  docker) docker build --quiet --build-arg "VERSION=$version" -t "$tag" "$context" >&2 ;;
  *) say "unknown engine $engine (podman or docker)"; exit 64 ;;
esac
say "built $tag: $("$engine" image inspect --format '{{.Size}}' "$tag" | awk '{ printf "%.1f MB", $1 / 1e6 }')"
echo "$tag"

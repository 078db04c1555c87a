#!/bin/sh
# Build the sample module in one of its versions: a tiny "application" mounted at /opt/sample,
# for trying module stacks and, later, reloads (it is reloadable by swap: it has its own mount
# point). Version 1.0.0 and 2.0.0 differ in what /opt/sample/bin/sample prints and in their files.
# Usage: images/sample/build.sh OUTDIR VERSION     (VERSION: 1.0.0 or 2.0.0)
set -eu
[ "$#" -eq 2 ] || { echo "usage: $0 OUTDIR VERSION" >&2; exit 2; }
outdir=$1
version=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"

case $version in
1.0.0) greeting="hello from sample 1" ;;
2.0.0) greeting="hello from sample 2, now with a changelog" ;;
*) image_die "unknown version $version (1.0.0 or 2.0.0)" ;;
esac

image_begin "$outdir"
mkdir -p "$tmp/bin" "$tmp/share"
echo "$version" >"$tmp/VERSION"
cat >"$tmp/bin/sample" <<SCRIPT
#!/bin/sh
# sample $version: prints its greeting and where it runs from
echo "$greeting"
echo "version \$(cat /opt/sample/VERSION) at /opt/sample"
SCRIPT
chmod 0755 "$tmp/bin/sample"
echo "sample data, version $version" >"$tmp/share/data.txt"
if [ "$version" = 2.0.0 ]; then
    printf '2.0.0: a changelog\n1.0.0: first version\n' >"$tmp/share/CHANGELOG"
fi

manifest=$outdir/module.json.in.$$
cat >"$manifest" <<JSON
{
  "name": "sample",
  "version": "$version",
  "description": "sample application module, version $version, at /opt/sample",
  "depends": [{"name": "base", "version": "^1"}],
  "requires": ["shell"],
  "provides": ["sample"],
  "domains": ["*"],
  "set": "standard",
  "mount_point": "/opt/sample",
  "reload": "swap",
  "stateful": false
}
JSON
image_commit "$manifest"
rm -f "$manifest"

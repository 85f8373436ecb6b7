#!/usr/bin/env bash
# Fetches the Hazelcast member jar (com.hazelcast:hazelcast, the self-contained member) from
# Maven Central into Dolphin's cache with Maven, once. Prints the jar's path on stdout.
#   DOLPHIN_HZ_VERSION   version to fetch (default: scripts/versions.env)
#   DOLPHIN_CACHE        cache folder (default: ~/.cache/dolphin)
#   DOLPHIN_JAVA         java binary to check the jar with (default: $JAVA_HOME/bin/java, then java on PATH)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ -z "${DOLPHIN_HZ_VERSION:-}" ]; then . "$root/scripts/versions.env"; fi
cache=${DOLPHIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dolphin}
dir="$cache/hazelcast/$DOLPHIN_HZ_VERSION"
jar="$dir/hazelcast-$DOLPHIN_HZ_VERSION.jar"

if [ -s "$jar" ]; then echo "$jar"; exit 0; fi

java=${DOLPHIN_JAVA:-}
[ -n "$java" ] || { [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ] && java="$JAVA_HOME/bin/java"; } || true
[ -n "$java" ] || java=$(command -v java || true)
[ -n "$java" ] || { echo "fetch-member: no java found (set JAVA_HOME or DOLPHIN_JAVA); Hazelcast $DOLPHIN_HZ_VERSION needs Java 17+" >&2; exit 1; }
jv=$("$java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
if [ "${jv%%.*}" -lt 17 ] 2>/dev/null; then
  echo "fetch-member: $java is Java $jv; Hazelcast $DOLPHIN_HZ_VERSION needs Java 17+" >&2; exit 1
fi
command -v mvn >/dev/null || { echo "fetch-member: Maven (mvn) is needed to fetch com.hazelcast:hazelcast:$DOLPHIN_HZ_VERSION" >&2; exit 1; }

echo "fetch-member: fetching com.hazelcast:hazelcast:$DOLPHIN_HZ_VERSION with Maven into $dir" >&2
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mvn -q -B -Dmaven.repo.local="$cache/m2" dependency:copy \
  -Dartifact="com.hazelcast:hazelcast:$DOLPHIN_HZ_VERSION" -DoutputDirectory="$tmp" >&2
[ -s "$tmp/hazelcast-$DOLPHIN_HZ_VERSION.jar" ] || { echo "fetch-member: Maven finished but no jar appeared" >&2; exit 1; }
mv "$tmp/hazelcast-$DOLPHIN_HZ_VERSION.jar" "$jar"
echo "$jar"

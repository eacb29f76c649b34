#!/usr/bin/env bash
# OPTIONAL check, never part of test.sh or tests/run: compile bridge/ (main and androidTest) against
# a REAL android.jar instead of the signature stubs in stubs/, to catch a stub that drifted from the
# platform. The only android.jar Debian ever packaged is API 23 (Debian 11 "bullseye":
# libandroid-23-java 6.0.1+r72-6; Debian 12 has none), older than the bridge's API-26 colour-space
# code, so errors that name API 26+ symbols (listed in API26 below) are expected and counted
# separately; any OTHER error fails the check.
#   android_bridge/check-android-jar.sh [ANDROID_JAR]       # or ANDROID_JAR=... in the environment
#   android_bridge/check-android-jar.sh --fetch             # download libandroid-23-java with apt
# --fetch uses a private apt configuration under build/android-jar/ (a bullseye sources list and
# package lists there): the system's apt sources are not touched and nothing is installed.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
B="$HERE/build/android-jar"
JUNIT="${JUNIT4_JAR:-/usr/share/java/junit4.jar}"
API26='ColorSpace|VERSION_CODES\.O[^A-Za-z_]|outColorSpace|inPreferredColorSpace|getColorSpace|RGBA_F16|Config\.HARDWARE|outConfig|RGBA_1010102'

jar="${1:-${ANDROID_JAR:-}}"
if [ "$jar" = "--fetch" ]; then
  mkdir -p "$B/lists/partial" "$B/deb"
  echo "deb http://deb.debian.org/debian bullseye main" > "$B/bullseye.list"
  apt_opts=(-o Dir::Etc::sourcelist="$B/bullseye.list" -o Dir::Etc::sourceparts=- \
            -o Dir::State::Lists="$B/lists" -o APT::Get::List-Cleanup=0)
  apt-get "${apt_opts[@]}" update >"$B/apt.log" 2>&1 \
    && (cd "$B/deb" && apt-get "${apt_opts[@]}" download libandroid-23-java >>"$B/apt.log" 2>&1) \
    || { echo "check-android-jar: could not fetch libandroid-23-java (see $B/apt.log)"; exit 2; }
  rm -rf "$B/x" && dpkg-deb -x "$B"/deb/libandroid-23-java_*.deb "$B/x" || exit 2
  jar="$B/x/usr/share/java/com.android.android-23.jar"
fi
[ -n "$jar" ] && [ -f "$jar" ] || { echo "usage: $0 ANDROID_JAR | --fetch" >&2; exit 2; }

rm -rf "$B/classes" && mkdir -p "$B/classes"
javac --release 11 -encoding UTF-8 -d "$B/classes/core" $(find "$HERE/core/src/main/java" -name '*.java') || exit 1
# Stand-ins for what android.jar lacks (LiteRT, androidx); the android.* stubs are left out.
javac --release 8 -nowarn -cp "$JUNIT:$jar" -d "$B/classes/stubs" \
  $(find "$HERE/stubs/src" -name '*.java' ! -path '*/src/android/*' | LC_ALL=C sort) || exit 1
status=0
for part in main androidTest; do
  out=$(javac --release 8 -encoding UTF-8 -Xmaxerrs 10000 -cp "$B/classes/core:$B/classes/stubs:$jar:$JUNIT" \
          -d "$B/classes/bridge-$part" -sourcepath "$HERE/bridge/src/main/java" \
          $(find "$HERE/bridge/src/$part/java" -name '*.java' | LC_ALL=C sort) 2>&1)
  # javac prints "file:line: error: ..." then the source line; judge each error by its source line.
  total=$(grep -c ': error: ' <<<"$out")
  other=$(awk '/: error: /{e=$0; getline src; if (src !~ /'"$API26"'/ && e !~ /'"$API26"'/) print e " | " src}' <<<"$out")
  n_other=$(grep -c . <<<"$other")
  echo "bridge $part (with main sources) vs $(basename "$jar"): $total errors, $((total - n_other)) of them API 26+ symbols ($API26), $n_other other"
  if [ "$n_other" -gt 0 ]; then
    echo "$other" | head -n 20; status=1
  fi
done
exit $status

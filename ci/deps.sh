#!/usr/bin/env bash
# Installs what the build and test jobs need, if missing (Debian 12 packages). Idempotent: does
# nothing when everything is present. Extra package names may be passed as arguments.
#
# usage: ci/deps.sh [--help] [PACKAGE...]
#   PACKAGE  a Debian package name (lower case letters, digits, + - .), installed too if missing
set -euo pipefail
source "$(dirname "$0")/lib.sh"

extra=()
for arg in "$@"; do
  case "$arg" in
    -h | --help) ci_usage; exit 0 ;;
    -*) ci_die "unknown option '$(ci_printable "$arg")' (see --help)" ;;
    *) [[ "$arg" =~ ^[a-z0-9][a-z0-9+.-]+$ ]] || ci_die "not a Debian package name: '$(ci_printable "$arg")'"
       extra+=("$arg") ;;
  esac
done

pkgs=(cmake make pkgconf gcc clang-14 clang libclang-rt-14-dev llvm-14 valgrind python3
  cython3 python3-dev python3-numpy python3-hypothesis python3-pytest python3-pip python3-setuptools
  python3-wheel "${extra[@]}")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all present (${pkgs[*]})"
  exit 0
fi
echo "deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: installed ${missing[*]}"

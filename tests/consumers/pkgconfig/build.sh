#!/usr/bin/env bash
# A project built with plain compiler commands and pkg-config against an installed recall.
# usage: build.sh OUTPUT    (PKG_CONFIG_PATH must reach recall.pc; CXX picks the compiler)
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck disable=SC2046 # pkg-config's flags are meant to be split
"${CXX:-c++}" main.cpp -o "$1" $(pkg-config --cflags --libs recall)

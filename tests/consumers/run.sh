#!/usr/bin/env bash
# Installs recall into a temporary prefix (a separate meson configure of the source tree, so
# the build under test is left alone), then builds and runs three consumer projects against
# it: meson (recall as a subproject), pkg-config, and CMake (find_package).
# usage: run.sh SOURCE_ROOT CXX...
set -uo pipefail
src=$1
shift
export CXX="$*"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
export RECALL_MODE=temp
failed=0
step() { # name, command...: runs a step quietly, shows its output when it fails
  local name=$1
  shift
  local started=$SECONDS
  if ! "$@" >"$work/step.log" 2>&1; then
    echo "FAIL $name"
    tail -30 "$work/step.log"
    failed=$((failed + 1))
    return 1
  fi
  echo "ok   $name ($((SECONDS - started)) s)"
}

step "install recall into a temporary prefix" bash -c "
  meson setup '$work/build' '$src' --prefix='$prefix' --wrap-mode=nodownload -Dtests=disabled -Dexamples=false \
    -Dbench=disabled -Dsignatures=disabled -Dtool=disabled && meson install -C '$work/build' --quiet" || exit 1
for f in include/recall/recall.hpp include/recall/adapters/eigen.hpp share/pkgconfig/recall.pc \
         share/cmake/recall/recallConfig.cmake share/cmake/recall/recallConfigVersion.cmake; do
  [ -f "$prefix/$f" ] || { echo "FAIL installed tree has no $f"; failed=$((failed + 1)); }
done

# The S3 store's CMake target, when recall was installed with libcurl found.
if pkg-config --exists 'libcurl >= 7.85'; then
  step "cmake package offers recall::s3" grep -q "if(TRUE AND NOT TARGET recall::s3)" \
    "$prefix/share/cmake/recall/recallConfig.cmake"
fi

# meson: recall as a subproject (what a wrap gives), through meson.override_dependency.
mkdir -p "$work/meson/subprojects"
cp "$src/tests/consumers/meson/meson.build" "$src/tests/consumers/main.cpp" "$work/meson/"
ln -s "$src" "$work/meson/subprojects/recall"
step "meson consumer (subproject)" bash -c "
  meson setup '$work/meson/build' '$work/meson' --wrap-mode=nodownload --force-fallback-for=recall && ninja -C '$work/meson/build' &&
  '$work/meson/build/consumer'"
step "meson consumer used recall's override" grep -q "Dependency recall found: YES .* (overridden)" \
  "$work/meson/build/meson-logs/meson-log.txt"

# pkg-config against the installed tree.
cp -r "$src/tests/consumers/pkgconfig" "$work/pkgconfig"
cp "$src/tests/consumers/main.cpp" "$work/pkgconfig/"
step "pkg-config consumer" bash -c "
  PKG_CONFIG_PATH='$prefix/share/pkgconfig' '$work/pkgconfig/build.sh' '$work/pkgconfig/consumer' &&
  '$work/pkgconfig/consumer'"

# CMake: find_package(recall) from the installed prefix.
if command -v cmake >/dev/null; then
  mkdir -p "$work/cmake"
  cp "$src/tests/consumers/cmake/CMakeLists.txt" "$src/tests/consumers/main.cpp" "$work/cmake/"
  step "cmake consumer (find_package)" bash -c "
    cmake -S '$work/cmake' -B '$work/cmake/build' -G Ninja -DCMAKE_PREFIX_PATH='$prefix' \
      -DCMAKE_CXX_COMPILER='${CXX%% *}' && cmake --build '$work/cmake/build' && '$work/cmake/build/consumer'"
  step "cmake rejects an incompatible version" bash -c "
    sed 's/find_package(recall 0.1 REQUIRED)/find_package(recall 9.0 REQUIRED)/' '$work/cmake/CMakeLists.txt' \
      >'$work/cmake/CMakeLists.txt.new' && mv '$work/cmake/CMakeLists.txt.new' '$work/cmake/CMakeLists.txt' &&
    ! cmake -S '$work/cmake' -B '$work/cmake/build9' -G Ninja -DCMAKE_PREFIX_PATH='$prefix'"
else
  echo "FAIL cmake is not installed (scripts/install-deps installs it)"
  failed=$((failed + 1))
fi

[ "$failed" = 0 ]

#!/usr/bin/env bash
# Hearth set-up on a fresh Debian 12 machine (as root). The README's two commands call this.
#   tools/setup.sh run   install dependencies, build, start Hearth
#   tools/setup.sh test  install dependencies, build (plus an ASan/UBSan build of the engine tests), run every test
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git file
  # the app test that proves Hearth opens no network connection traces it with strace
  strace
  # tests
  libgtest-dev libgmock-dev
  # Qt 6 app: Quick/Controls/Layouts/Dialogs, SQLite driver, translations, tests
  qt6-base-dev qt6-declarative-dev qt6-tools-dev qt6-tools-dev-tools qt6-l10n-tools libqt6sql6-sqlite
  qml6-module-qtquick qml6-module-qtquick-controls qml6-module-qtquick-layouts qml6-module-qtquick-window
  qml6-module-qtquick-dialogs qml6-module-qtquick-templates qml6-module-qtqml-workerscript
  qml6-module-qtcore qml6-module-qt-labs-settings qml6-module-qttest qt6-qpa-plugins libgl-dev
  libqt6svg6
  # the Qt Quick file dialog (Import…, Export…) lists folders through Qt.labs.folderlistmodel;
  # without it the dialog crashes the app. Qt's own strings (dialog buttons) in Chinese.
  qml6-module-qt-labs-folderlistmodel qt6-translations-l10n
  # Chinese: CJK font and the Fcitx 5 input-method plugin for Qt 6 (IBus support is built into Qt)
  fonts-noto-cjk fcitx5-frontend-qt6
  # store
  libsqlite3-dev
  # hub downloads (engine/hub) over libcurl with OpenSSL; the hub tests' local HTTP(S) server
  libcurl4-openssl-dev libcpp-httplib-dev
  # PNG files of generated images (hearth-cli diffuse, the Image tab)
  libpng-dev
  # PDF documents' compressed streams (engine/docs/pdf_text)
  zlib1g-dev
  # Vulkan backend, tested on Mesa's CPU driver (lavapipe) with the validation layer
  libvulkan-dev glslc mesa-vulkan-drivers vulkan-validationlayers vulkan-tools
)

install_deps() {
  if [ "$(id -u)" != 0 ]; then echo "setup.sh: run as root (apt-get install)" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}"
}

jobs=$(nproc)
configure_build() {  # dir, extra cmake args…
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
  cmake --build "$dir" -j "$jobs"
}

case "${1:-}" in
  run)
    install_deps
    configure_build build
    if [ -x build/app/hearth ]; then exec build/app/hearth; else exec build/app/cli/hearth-cli --help; fi
    ;;
  test)
    install_deps
    # CUDA code is compiled for one architecture in the test build to keep CI short.
    configure_build build -DCMAKE_CUDA_ARCHITECTURES=90
    # The sanitizer build covers the engine only and uses -O1 with assertions on: it compiles in less
    # than half the time of -O3 and still finds what ASan/UBSan find.
    configure_build build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O1 \
      -DHEARTH_SANITIZE=ON -DHEARTH_APP=OFF -DHEARTH_CUDA=OFF -DHEARTH_VULKAN=OFF
    (cd build-asan && ctest --output-on-failure -j "$jobs" -L engine) || asan_failed=1
    cd build && ctest --output-on-failure -j "$jobs"
    exit "${asan_failed:-0}"
    ;;
  *)
    echo "usage: tools/setup.sh run|test" >&2; exit 2 ;;
esac

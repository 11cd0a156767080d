// hub_serve SIZE_MB: the tests' fake hub (tests/engine/fake_hub.h) serving repository org/model
// with one LFS file, model.bin, of SIZE_MB MiB, for the download speed figure in README.md: it
// prints the endpoint and the file's direct CDN URL, then serves until stdin closes.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "tests/engine/fake_hub.h"

int main(int argc, char** argv) {
    size_t mb = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 200;
    hearth::test::FakeHub hub;
    hub.files = {{"model.bin", hearth::test::pattern_bytes(mb << 20, 7), true}};
    hub.file_sha256(hub.files[0]);  // hashed once here, not during the timed runs
    std::printf("endpoint %s\ncdn %s/blobs/model.bin\n", hub.endpoint().c_str(), hub.cdn_origin().c_str());
    std::fflush(stdout);
    std::string line;
    while (std::getline(std::cin, line)) {}
    return 0;
}

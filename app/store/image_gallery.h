// ImageGallery: the Image tab's generated pictures in the conversation database's `images` table
// (schema v6). The PNG files live under <data>/images/; a row holds the file's path and the settings
// that made it, so "use these settings again" can fill the form. Writes go through the store's one
// writer thread (they return at once, ids allocated here as ChatStore does); reads wait for the
// writes queued before them.
#pragma once

#include <QString>
#include <cstdint>
#include <vector>

#include "engine/util/status.h"

namespace hearth::app {

class ChatStore;

struct ImageRecord {
    int64_t id = 0;
    QString file;         // the PNG's absolute path
    QString prompt, negative;
    uint64_t seed = 0;
    int width = 0, height = 0, steps = 0;
    double guidance = 0;
    QString sampler;      // "euler" | "euler_a" | "ddim" | "lcm"
    QString model;        // the pipeline folder
    double seconds = 0;   // how long the run took
    int64_t createdAt = 0;  // ms since the epoch
};

class ImageGallery {
public:
    explicit ImageGallery(ChatStore* store) : store_(store) {}

    // Every image, newest first.
    Result<std::vector<ImageRecord>> all();
    // Queues the insert; returns the record with its id and time filled in.
    Result<ImageRecord> add(ImageRecord r);
    Status remove(int64_t id);

private:
    ChatStore* store_;
    int64_t nextId_ = 0;  // 0: not read yet
};

}  // namespace hearth::app

#include "app/store/image_gallery.h"

#include <QDateTime>

#include "app/store/chat_store.h"

namespace hearth::app {

Result<std::vector<ImageRecord>> ImageGallery::all() {
    if (!store_->isOpen()) return make_error("the conversation database is not open");
    store_->waitForQueuedWrites();
    auto s = store_->db().prepare(
        "SELECT id, file, prompt, negative, seed, width, height, steps, guidance, sampler, model, seconds, created_at "
        "FROM images ORDER BY created_at DESC, id DESC");
    std::vector<ImageRecord> out;
    while (s.step()) {
        ImageRecord r;
        r.id = s.int64(0);
        r.file = s.text(1);
        r.prompt = s.text(2);
        r.negative = s.text(3);
        r.seed = uint64_t(s.int64(4));  // stored as the same 64 bits (SQLite integers are signed)
        r.width = s.integer(5);
        r.height = s.integer(6);
        r.steps = s.integer(7);
        r.guidance = s.real(8);
        r.sampler = s.text(9);
        r.model = s.text(10);
        r.seconds = s.real(11);
        r.createdAt = s.int64(12);
        out.push_back(std::move(r));
    }
    if (!s.ok()) return s.status();
    return out;
}

Result<ImageRecord> ImageGallery::add(ImageRecord r) {
    if (!store_->isOpen()) return make_error("the conversation database is not open");
    if (nextId_ == 0) {
        store_->waitForQueuedWrites();  // inserts not yet on disk hold ids too
        auto max = store_->db().scalarInt("SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'images'");
        HEARTH_RETURN_IF_ERROR(max);
        nextId_ = *max + 1;
    }
    r.id = nextId_++;
    if (r.createdAt == 0) r.createdAt = QDateTime::currentMSecsSinceEpoch();
    HEARTH_RETURN_IF_ERROR(store_->postWrite([r](SqliteDb& db) {
        auto s = db.prepare(
            "INSERT INTO images(id, file, prompt, negative, seed, width, height, steps, guidance, sampler, model, seconds, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        s.bind(1, r.id).bind(2, r.file).bind(3, r.prompt).bind(4, r.negative).bind(5, int64_t(r.seed));
        s.bind(6, r.width).bind(7, r.height).bind(8, r.steps).bind(9, r.guidance).bind(10, r.sampler);
        s.bind(11, r.model).bind(12, r.seconds).bind(13, r.createdAt);
        return s.exec();
    }));
    return r;
}

Status ImageGallery::remove(int64_t id) {
    return store_->postWrite([id](SqliteDb& db) {
        auto s = db.prepare("DELETE FROM images WHERE id = ?");
        s.bind(1, id);
        return s.exec();
    });
}

}  // namespace hearth::app

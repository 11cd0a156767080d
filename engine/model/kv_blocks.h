// The KV blocks of a multi-sequence cache (issue #16): which physical blocks of one KvCache each
// sequence owns, in order (its block table), with reference counts so a prompt prefix common to
// several sequences is stored once. backend.h's KV cache contract says how a table is read.
//
// Sharing is of full blocks only: a sequence that starts from another's prefix takes that
// prefix's whole 32-token blocks (reference count + 1, no copy) and writes its own tokens from the
// next block on, into blocks of its own. Shared blocks are therefore never written after they
// are shared (no copy-on-write is needed); a prefix that ends inside a block is recomputed from
// that block's first token (at most 31 tokens).
//
// A block returns to the free list when its last holder lets go (free_sequence, truncate). The
// scheduler admits work while n_free() covers it. check() verifies the accounting (tests call it).
//
// How a scheduler drives it with ModelContext::eval_batch (one context, KvBlocks(ctx.n_blocks())):
//   admit:    s = create_sequence(); optionally n0 = *share_prefix(s, cached, prompt_len) (a cached
//             sequence holding the same prompt prefix); then reserve(s, prompt_len)
//   each step: for every running sequence, reserve(s, its length + the tokens it adds this step)
//             (an error = no blocks left: preempt someone, free_sequence, recompute it later), then
//             one eval_batch with a SeqStep {tokens, n, pos0 = its length, &table(s), n_out}
//             per sequence (a prompt may come in chunks over several steps); sample each row
//   finish:   free_sequence(s) (or keep it as the cache of its prompt for later requests)
#pragma once

#include <cstdint>
#include <vector>

#include "engine/util/status.h"

namespace hearth {

class KvBlocks {
public:
    explicit KvBlocks(int n_blocks);

    int n_blocks() const { return int(refs_.size()); }
    int n_free() const { return int(free_.size()); }
    // Blocks needed to hold n cells.
    static int blocks_for(int n_cells);

    // A new, empty sequence; its id is reused after free_sequence.
    int create_sequence();
    // Frees the sequence: every block it holds loses a reference. Unknown ids are ignored.
    void free_sequence(int seq);
    bool has_sequence(int seq) const;

    // Grows the sequence's table to hold cells 0 .. n_cells-1 (new blocks from the free list). An
    // error, with nothing allocated, when too few blocks are free.
    Status reserve(int seq, int n_cells);
    // Keeps the blocks holding cells 0 .. n_cells-1 and lets go of the rest (an abandoned tail,
    // preemption of part of a sequence).
    Status truncate(int seq, int n_cells);
    // Makes an empty sequence `dst` start with the full blocks of `src` that lie within its first
    // n_cells cells (shared, not copied). Returns how many cells are shared: n_cells rounded down
    // to whole blocks (dst evaluates its tokens from there on).
    Result<int> share_prefix(int dst, int src, int n_cells);

    // Whether every block holding the sequence's cells from `cell` on is its alone (refcount 1):
    // what writing there (a context shift) needs.
    bool owns_from(int seq, int cell) const;
    // The sequence's block table: physical block of each logical block. Empty for unknown ids.
    const std::vector<int32_t>& table(int seq) const;
    int refcount(int block) const { return refs_[size_t(block)]; }
    // Physical cell of the sequence's logical cell (position) p: table[p / 32] * 32 + p % 32.
    int32_t cell(int seq, int p) const;

    // Accounting: every block's reference count equals the number of tables holding it, and the
    // free list holds exactly the blocks with no reference. An error names the first mismatch.
    Status check() const;

private:
    std::vector<int> refs_;                      // per physical block
    std::vector<int32_t> free_;                  // blocks with refs_ == 0 (a stack)
    std::vector<std::vector<int32_t>> tables_;   // per sequence id
    std::vector<bool> live_;                     // per sequence id
};

}  // namespace hearth

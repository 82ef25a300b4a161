// Fork/join for GEMM blocks and the memory-bound kernels (im2col, col2im, scatter/gather,
// pooling, large elementwise loops): a small team of helper threads per calling thread.
//
// Threading model: OpenBLAS always runs one-threaded; this team is the only pool. Its size is the
// count set with setNumThreads (blasGetNumThreads(): default OPENBLAS_NUM_THREADS or the cores).
// Large GEMMs are cut into blocks that the team computes with one-threaded OpenBLAS calls
// (gemm.cc), so GEMMs and memory-bound loops never compete for cores.
// With one thread, parallelFor is a plain call on the calling thread: no team, no atomics.
// LERNEN_NO_TEAM=1 in the environment keeps every memory-bound loop on the calling thread (for
// measurements, or on machines where other work owns the other cores). On a loaded machine the
// team also backs off by itself (see parallel.cc).
//
// The team is thread_local: each JS thread (main, every worker_thread) that calls a kernel gets
// its own helpers, created on first use and joined when that thread exits. No state is shared
// between JS threads.
#pragma once

#include "kernels.h"

namespace lernen {

/** Threads a parallel region may use: the count set with setNumThreads (≥ 1). */
int kernelThreads();

namespace detail {
/**
 * Runs task(ctx, c) for every chunk c in [0, chunks) on up to nt threads (the caller and nt − 1
 * helpers), which claim the chunks one at a time; returns when every chunk has run.
 */
void runTeam(int nt, i64 chunks, void (*task)(void* ctx, i64 chunk), void* ctx);
/** Whether this thread is running a share of a parallel region. */
bool inTeamRegion();
}  // namespace detail

/**
 * Elements per thread below which a memory-bound elementwise loop (binary ops, bias +
 * activation) stays on one thread: a few microseconds of work.
 */
constexpr i64 kElementGrain = i64{1} << 15;

/** Chunks per thread in a parallel region (see parallelFor). */
constexpr i64 kChunksPerThread = 4;

/**
 * Calls fn(begin, end) on disjoint contiguous ranges covering [0, count), in parallel on up to
 * kernelThreads() threads, each range holding at least `grain` items (so small loops stay on one
 * thread). fn must not throw, and may be called several times on one thread.
 *
 * The ranges are fixed by count, grain and the thread count: up to kChunksPerThread per thread,
 * split evenly. The threads claim them one at a time, so a helper that gets its core late (a
 * shared or loaded machine) costs the region nothing: the caller runs the chunks the helper has
 * not claimed. Which thread runs a chunk never changes what the chunk computes.
 */
template <class F>
void parallelFor(i64 count, i64 grain, F&& fn) {
  if (count <= 0) return;
  if (grain < 1) grain = 1;
  // Inside a region (a share of an outer parallelFor), run inline: no nested teams.
  i64 nt = detail::inTeamRegion() ? 1 : kernelThreads();
  const i64 maxByGrain = count / grain;
  if (nt > maxByGrain) nt = maxByGrain;
  if (nt <= 1) {
    fn(i64{0}, count);
    return;
  }
  const i64 chunks = nt * kChunksPerThread < maxByGrain ? nt * kChunksPerThread : maxByGrain;
  struct Ctx {
    F* fn;
    i64 count, chunks;
  } ctx{&fn, count, chunks};
  detail::runTeam(static_cast<int>(nt), chunks, [](void* p, i64 c) {
    const Ctx& x = *static_cast<Ctx*>(p);
    const i64 begin = x.count * c / x.chunks, end = x.count * (c + 1) / x.chunks;
    if (begin < end) (*x.fn)(begin, end);
  }, &ctx);
}

}  // namespace lernen

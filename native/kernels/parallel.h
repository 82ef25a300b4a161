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
/** Runs task(ctx, t) for t in [0, nt) on nt threads (t = 0 on the caller); returns when all end. */
void runTeam(int nt, void (*task)(void* ctx, int t), void* ctx);
/** Whether this thread is running a share of a parallel region. */
bool inTeamRegion();
}  // namespace detail

/**
 * Calls fn(begin, end) on disjoint contiguous ranges covering [0, count), in parallel on up to
 * kernelThreads() threads, each range holding at least `grain` items (so small loops stay on one
 * thread). fn must not throw. Ranges are split evenly and deterministically: the same count and
 * thread count always give the same ranges.
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
  struct Ctx {
    F* fn;
    i64 count, nt;
  } ctx{&fn, count, nt};
  detail::runTeam(static_cast<int>(nt), [](void* p, int t) {
    const Ctx& c = *static_cast<Ctx*>(p);
    const i64 begin = c.count * t / c.nt, end = c.count * (t + 1) / c.nt;
    if (begin < end) (*c.fn)(begin, end);
  }, &ctx);
}

}  // namespace lernen

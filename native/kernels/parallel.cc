// The thread team behind parallelFor (parallel.h).
#include "parallel.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LERNEN_PAUSE() _mm_pause()
#else
#define LERNEN_PAUSE() ((void)0)
#endif

namespace lernen {

int kernelThreads() {
  static const bool off = [] {
    const char* e = std::getenv("LERNEN_NO_TEAM");
    return e != nullptr && e[0] == '1';
  }();
  if (off) return 1;
  const int n = blasGetNumThreads();
  return n < 1 ? 1 : n;
}

namespace {

// Work sharing. A region is cut into chunks (parallelFor: up to kChunksPerThread per thread),
// and the caller and its helpers claim them one at a time from a counter tagged with the job's
// generation. A helper that wakes late, or is busy elsewhere, finds fewer chunks or none: the
// caller runs them, and waits only for chunks a helper has claimed, never for a helper to show up
// (measured in alternation on the shared 2-core VM: W1 and CNN epochs about 4-5 % faster than
// fixed halves, where the caller waited for a late helper's whole share).
//
// A helper polls for the next job for a while: a training step calls a kernel every few tens of
// microseconds, with JS work between them. First with pause, then for up to kHelperYieldNs
// with sched_yield, which hands the core to any other runnable thread (OpenBLAS's own workers
// wait the same way, for longer), then it sleeps on the condition variable. Waking a sleeping
// helper costs more than a small region: a 65,536-element multiply took 21 us on 2 threads after
// a 100 us gap (the helper asleep) and 5.5 us with the helper polling, against 9 us on one
// thread; W1 epochs were 8 % faster with 300 us of polling than with ~60 us (medians of 8
// alternated runs), the CNN's (long regions) the same. The caller, waiting for claimed chunks,
// polls then yields.
constexpr int kHelperSpin = 256;
constexpr std::int64_t kHelperYieldNs = 300'000;
constexpr int kCallerSpin = 4096;

// Load adaptation. On a machine with more runnable threads than cores, a helper may also lose
// its core in the middle of a chunk, and the caller then waits for that chunk. The team notices
// (the caller waited longer than its own chunks took, and more than kLateNs) and runs the next
// regions serially, for a backoff that doubles while the machine stays busy and halves once
// helpers are prompt again. Serial or parallel, the chunks and so the results are the same.
constexpr std::int64_t kLateNs = 50'000;

// True on a thread while it runs a share of a parallel region (caller and helpers): nested
// parallelFor calls then run inline, and GEMMs run on one OpenBLAS thread (see gemm.cc), so a
// region's threads never wait on each other's BLAS threads.
thread_local bool inRegion = false;

struct RegionFlag {
  bool prev;
  RegionFlag() : prev(inRegion) { inRegion = true; }
  ~RegionFlag() { inRegion = prev; }
};
constexpr int kMinBackoff = 16;
constexpr int kMaxBackoff = 4096;

inline std::int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class Team {
 public:
  Team() = default;
  Team(const Team&) = delete;
  Team& operator=(const Team&) = delete;

  ~Team() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }

  void run(int nt, i64 chunks, void (*task)(void*, i64), void* ctx) {
    RegionFlag flag;
    if (serialLeft_ > 0) {
      --serialLeft_;
      for (i64 c = 0; c < chunks; ++c) task(ctx, c);
      return;
    }
    grow(nt - 1);
    std::uint32_t gen;
    {
      // The job, its generation and its claim counter change together under the lock, so a
      // helper always reads a consistent job.
      std::lock_guard<std::mutex> lk(m_);
      task_ = task;
      ctx_ = ctx;
      nt_ = nt;
      chunks_ = chunks;
      done_.store(0, std::memory_order_relaxed);
      gen = static_cast<std::uint32_t>(gen_.load(std::memory_order_relaxed) + 1);
      claim_.store(std::uint64_t{gen} << 32, std::memory_order_relaxed);
      gen_.store(gen_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }
    cv_.notify_all();
    const std::int64_t t0 = nowNs();
    i64 mine = 0;
    for (i64 c; (c = claim(gen, chunks)) >= 0; ++mine) task(ctx, c);
    const std::int64_t t1 = nowNs();
    // Wait for the chunks the helpers claimed (not for helpers that never started: a late helper
    // finds no chunk left and never touches this job's context).
    if (mine < chunks) {
      for (int i = 0; done_.load(std::memory_order_acquire) != chunks - mine; ++i) {
        if (i < kCallerSpin) {
          LERNEN_PAUSE();
        } else {
          std::this_thread::yield();
        }
      }
    }
    const std::int64_t own = t1 - t0, waited = nowNs() - t1;
    if (waited > own && waited > kLateNs) {
      if (++strikes_ >= 2) {
        strikes_ = 0;
        serialLeft_ = backoff_;
        backoff_ = backoff_ * 2 > kMaxBackoff ? kMaxBackoff : backoff_ * 2;
      }
    } else {
      strikes_ = 0;
      if (waited * 4 < own) backoff_ = backoff_ / 2 < kMinBackoff ? kMinBackoff : backoff_ / 2;
    }
  }

 private:
  /** The next unclaimed chunk of job `gen`, or −1 when none is left (or the job is over). */
  i64 claim(std::uint32_t gen, i64 chunks) {
    std::uint64_t v = claim_.load(std::memory_order_relaxed);
    for (;;) {
      if (static_cast<std::uint32_t>(v >> 32) != gen) return -1;
      const i64 c = static_cast<i64>(v & 0xffffffffu);
      if (c >= chunks) return -1;
      if (claim_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel,
                                       std::memory_order_relaxed)) {
        return c;
      }
    }
  }

  void grow(int helpers) {
    while (static_cast<int>(threads_.size()) < helpers) {
      const int idx = static_cast<int>(threads_.size()) + 1;
      const std::uint64_t seen = gen_.load(std::memory_order_relaxed);  // before the next job
      threads_.emplace_back([this, idx, seen] { loop(idx, seen); });
    }
  }

  void loop(int idx, std::uint64_t seen) {
    for (;;) {
      for (int i = 0; i < kHelperSpin && gen_.load(std::memory_order_acquire) == seen; ++i) {
        LERNEN_PAUSE();
      }
      const std::int64_t since = nowNs();
      while (gen_.load(std::memory_order_acquire) == seen && nowNs() - since < kHelperYieldNs) {
        std::this_thread::yield();
      }
      void (*task)(void*, i64);
      void* ctx;
      int nt;
      i64 chunks;
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return stop_ || gen_.load(std::memory_order_relaxed) != seen; });
        if (stop_) return;
        seen = gen_.load(std::memory_order_relaxed);
        task = task_;
        ctx = ctx_;
        nt = nt_;
        chunks = chunks_;
      }
      if (idx < nt) {
        RegionFlag flag;
        const std::uint32_t gen = static_cast<std::uint32_t>(seen);
        for (i64 c; (c = claim(gen, chunks)) >= 0;) {
          task(ctx, c);
          done_.fetch_add(1, std::memory_order_acq_rel);
        }
      }
    }
  }

  std::vector<std::thread> threads_;
  std::mutex m_;
  std::condition_variable cv_;
  std::atomic<std::uint64_t> gen_{0};
  // The current job's chunks: (generation << 32) | next unclaimed chunk, and how many chunks
  // the helpers have finished.
  std::atomic<std::uint64_t> claim_{0};
  std::atomic<i64> done_{0};
  void (*task_)(void*, i64) = nullptr;
  void* ctx_ = nullptr;
  int nt_ = 0;
  i64 chunks_ = 0;
  bool stop_ = false;
  // Load adaptation (caller thread only).
  int strikes_ = 0;
  int serialLeft_ = 0;
  int backoff_ = kMinBackoff;
};

}  // namespace

namespace detail {

thread_local Team team;

void runTeam(int nt, i64 chunks, void (*task)(void* ctx, i64 chunk), void* ctx) {
  team.run(nt, chunks, task, ctx);
}

bool inTeamRegion() { return inRegion; }

}  // namespace detail

}  // namespace lernen

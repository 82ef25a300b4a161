// The shared sliding-window arguments of im2col, col2im and the pooling kernels:
// n, c, h, w, kh, kw, strideH, strideW, padH, padW (ten consecutive arguments).
#pragma once

#include "validate.h"

namespace lernen::binding {

struct WindowArgs {
  Window2d g;
  i64 input;   // n·c·h·w
  i64 output;  // n·c·oh·ow
  i64 planes;  // n·c
};

inline WindowArgs windowArgs(const Args& args, size_t first) {
  Window2d g{};
  g.n = args.size(first + 0, "n");
  g.c = args.size(first + 1, "c");
  g.h = args.size(first + 2, "h", kMaxInt32);
  g.w = args.size(first + 3, "w", kMaxInt32);
  g.kh = args.size(first + 4, "kh", kMaxInt32, 1);
  g.kw = args.size(first + 5, "kw", kMaxInt32, 1);
  g.strideH = args.size(first + 6, "strideH", kMaxInt32, 1);
  g.strideW = args.size(first + 7, "strideW", kMaxInt32, 1);
  g.padH = args.size(first + 8, "padH", kMaxInt32);
  g.padW = args.size(first + 9, "padW", kMaxInt32);
  // All of h, w, k, pad are < 2^31, so h + 2·pad cannot overflow 64 bits.
  if (g.h + 2 * g.padH < g.kh) {
    args.rangeError("kh = " + formatInt(g.kh) + " is larger than h + 2·padH = " +
                    formatInt(g.h + 2 * g.padH));
  }
  if (g.w + 2 * g.padW < g.kw) {
    args.rangeError("kw = " + formatInt(g.kw) + " is larger than w + 2·padW = " +
                    formatInt(g.w + 2 * g.padW));
  }
  g.oh = windowOut(g.h, g.kh, g.strideH, g.padH);
  g.ow = windowOut(g.w, g.kw, g.strideW, g.padW);
  WindowArgs r{g, 0, 0, 0};
  r.planes = args.mul(g.n, g.c, "n·c");
  r.input = args.mul({r.planes, g.h, g.w}, "n·c·h·w");
  r.output = args.mul({r.planes, g.oh, g.ow}, "n·c·oh·ow");
  return r;
}

}  // namespace lernen::binding

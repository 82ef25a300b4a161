// The validation vocabulary of every entry point. Checks run in the order of node-addon-api's
// typed_array_to_native example: argument count, IsTypedArray, element type, then lengths
// against sizes with overflow-safe products, then aliasing. Nothing is read or written before
// every check has passed. Each failure throws a JS Error whose message starts with the kernel
// name and names the argument ("gemm: buffer a has 10 elements but m·k = 12 are required").
#pragma once

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <string>

#include "kernels.h"

namespace lernen::binding {

using lernen::i64;

constexpr double kMaxSafeInteger = 9007199254740991.0;  // 2^53 − 1
constexpr double kMaxInt32 = 2147483647.0;              // 2^31 − 1 (BLAS int, geometry)

/** A number as JS would print it (integers without a fraction, NaN, Infinity). */
inline std::string formatNumber(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[40];
  if (d == std::floor(d) && std::fabs(d) < 1e21) {
    std::snprintf(buf, sizeof buf, "%.0f", d);
  } else {
    std::snprintf(buf, sizeof buf, "%.17g", d);
  }
  return buf;
}

inline std::string formatInt(i64 v) { return std::to_string(v); }

inline const char* typedArrayName(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_uint8_clamped_array: return "Uint8ClampedArray";
    case napi_int16_array: return "Int16Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_biguint64_array: return "BigUint64Array";
    default: return "a typed array";  // newer kinds (Float16Array) in newer headers
  }
}

/** What a value is, for messages: "undefined", "null", "number 1.5", "string", "Float64Array"… */
inline std::string describe(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (v.IsNumber()) return "number " + formatNumber(v.As<Napi::Number>().DoubleValue());
  if (v.IsString()) return "a string";
  if (v.IsTypedArray()) return typedArrayName(v.As<Napi::TypedArray>().TypedArrayType());
  if (v.IsArray()) return "an Array";
  if (v.IsArrayBuffer()) return "an ArrayBuffer";
  if (v.IsFunction()) return "a function";
  if (v.IsBigInt()) return "a bigint";
  if (v.IsSymbol()) return "a symbol";
  return "an object";
}

/** A typed-array argument: its first element and length, after the checks. */
template <class T>
struct Buf {
  T* data = nullptr;
  size_t length = 0;
  const char* name = "";
  bool present = false;  // false: null/undefined passed for an optional buffer
  T* get() const { return present ? data : nullptr; }
};

template <class T>
struct ElementType;
template <>
struct ElementType<float> {
  static constexpr napi_typedarray_type type = napi_float32_array;
  static constexpr const char* name = "Float32Array";
};
template <>
struct ElementType<std::int32_t> {
  static constexpr napi_typedarray_type type = napi_int32_array;
  static constexpr const char* name = "Int32Array";
};
template <>
struct ElementType<std::uint8_t> {
  static constexpr napi_typedarray_type type = napi_uint8_array;
  static constexpr const char* name = "Uint8Array";
};
template <>
struct ElementType<std::uint32_t> {
  static constexpr napi_typedarray_type type = napi_uint32_array;
  static constexpr const char* name = "Uint32Array";
};

/** A shape argument: a JS array of at most kMaxRank non-negative integers. */
struct Shape {
  int rank = 0;
  i64 dim[kMaxRank] = {0};
  i64 numel = 1;
  std::string str() const {
    std::string s = "[";
    for (int i = 0; i < rank; ++i) s += (i ? "," : "") + formatInt(dim[i]);
    return s + "]";
  }
};

/** The byte range one argument occupies, for aliasing checks. */
struct Span {
  const char* name;
  std::uintptr_t begin, end;
  bool written;
};

/** One entry point's arguments and its error vocabulary. */
class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* kernel, size_t minCount, size_t maxCount)
      : info_(info), kernel_(kernel) {
    const size_t n = info.Length();
    if (n < minCount || n > maxCount) {
      const std::string want = minCount == maxCount
                                   ? std::to_string(minCount)
                                   : std::to_string(minCount) + " to " + std::to_string(maxCount);
      typeError("expected " + want + " arguments but got " + std::to_string(n));
    }
  }

  Napi::Env env() const { return info_.Env(); }
  Napi::Value at(size_t i) const { return info_[i]; }
  const char* kernel() const { return kernel_; }

  [[noreturn]] void typeError(const std::string& msg) const {
    throw Napi::TypeError::New(info_.Env(), std::string(kernel_) + ": " + msg);
  }
  [[noreturn]] void rangeError(const std::string& msg) const {
    throw Napi::RangeError::New(info_.Env(), std::string(kernel_) + ": " + msg);
  }
  [[noreturn]] void error(const std::string& msg) const {
    throw Napi::Error::New(info_.Env(), std::string(kernel_) + ": " + msg);
  }

  // ---------------------------------------------------------------- typed arrays
  template <class T>
  Buf<T> array(size_t i, const char* name, bool optional = false) const {
    Napi::Value v = info_[i];
    Buf<T> b;
    b.name = name;
    if (optional && (v.IsNull() || v.IsUndefined())) return b;
    // Messages are built only on failure: the success path allocates nothing.
    auto expected = [&] { return std::string(ElementType<T>::name) + (optional ? " or null" : ""); };
    if (!v.IsTypedArray()) typeError(std::string(name) + " must be a " + expected() + " but got " + describe(v));
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    napi_status st =
        napi_get_typedarray_info(info_.Env(), v, &type, &length, &data, nullptr, nullptr);
    if (st != napi_ok) typeError(std::string(name) + ": cannot read the typed array");
    if (type != ElementType<T>::type) {
      typeError(std::string(name) + " must be a " + expected() + " but got " + typedArrayName(type));
    }
    b.data = static_cast<T*>(data);
    b.length = data ? length : 0;  // a detached buffer has no elements
    b.present = true;
    return b;
  }
  Buf<float> f32(size_t i, const char* name) const { return array<float>(i, name); }
  Buf<float> f32OrNull(size_t i, const char* name) const { return array<float>(i, name, true); }
  Buf<std::int32_t> i32(size_t i, const char* name) const { return array<std::int32_t>(i, name); }
  Buf<std::int32_t> i32OrNull(size_t i, const char* name) const {
    return array<std::int32_t>(i, name, true);
  }
  Buf<std::uint32_t> u32(size_t i, const char* name) const {
    return array<std::uint32_t>(i, name);
  }
  Buf<std::uint8_t> u8(size_t i, const char* name) const { return array<std::uint8_t>(i, name); }

  // ---------------------------------------------------------------- scalars
  /** A non-negative integer ≤ max (NaN, ±Infinity, fractions and negatives are refused). */
  i64 size(size_t i, const char* name, double max = kMaxSafeInteger, double min = 0) const {
    Napi::Value v = info_[i];
    auto what = [&] { return min > 0 ? "an integer ≥ " + formatNumber(min) : std::string("a non-negative integer"); };
    if (!v.IsNumber()) typeError(std::string(name) + " must be " + what() + " but got " + describe(v));
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= min) || std::isinf(d) || d != std::floor(d)) {
      rangeError(std::string(name) + " must be " + what() + " but got " + formatNumber(d));
    }
    if (d > max) {
      rangeError(std::string(name) + " = " + formatNumber(d) + " exceeds the limit " + formatNumber(max));
    }
    return static_cast<i64>(d);
  }
  /** A finite number. */
  double number(size_t i, const char* name) const {
    Napi::Value v = info_[i];
    if (!v.IsNumber()) typeError(std::string(name) + " must be a finite number but got " + describe(v));
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d)) rangeError(std::string(name) + " must be a finite number but got " + formatNumber(d));
    return d;
  }
  /**
   * A finite number that the kernel converts to float32: one that rounds to ±∞ there
   * (|d| ≥ 2¹²⁸ − 2¹⁰³, the midpoint between FLT_MAX and 2¹²⁸) is refused too, as the JS backend
   * does (checkFiniteF32).
   */
  double float32(size_t i, const char* name) const {
    const double d = number(i, name);
    if (std::fabs(d) >= 0x1.ffffffp127) {
      rangeError(std::string(name) + " must be a finite number but got " + formatNumber(d) +
                 " (beyond float32's range)");
    }
    return d;
  }
  /** float32(), or `fallback` when undefined. */
  double float32Or(size_t i, const char* name, double fallback) const {
    return info_[i].IsUndefined() ? fallback : float32(i, name);
  }
  /** A finite number, or `fallback` when undefined. */
  double numberOr(size_t i, const char* name, double fallback) const {
    return info_[i].IsUndefined() ? fallback : number(i, name);
  }
  /** A finite number in [lo, hi] (hiOpen: [lo, hi)). */
  double numberIn(size_t i, const char* name, double lo, double hi, bool hiOpen) const {
    const double d = number(i, name);
    if (d < lo || (hiOpen ? d >= hi : d > hi)) {
      rangeError(std::string(name) + " must be in [" + formatNumber(lo) + ", " + formatNumber(hi) +
                 (hiOpen ? ")" : "]") + " but got " + formatNumber(d));
    }
    return d;
  }
  bool boolean(size_t i, const char* name) const {
    Napi::Value v = info_[i];
    if (!v.IsBoolean()) typeError(std::string(name) + " must be a boolean but got " + describe(v));
    return v.As<Napi::Boolean>().Value();
  }
  /** A string naming one of `names`; returns its index. */
  int choice(size_t i, const char* name, std::initializer_list<const char*> names) const {
    Napi::Value v = info_[i];
    auto list = [&] {
      std::string l;
      for (const char* n : names) l += (l.empty() ? "" : ", ") + std::string(n);
      return l;
    };
    if (!v.IsString()) typeError(std::string(name) + " must be one of " + list() + " but got " + describe(v));
    char buf[32];  // every op name is shorter; a longer string cannot match
    size_t len = 0;
    if (napi_get_value_string_utf8(info_.Env(), v, buf, sizeof buf, &len) != napi_ok) {
      typeError(std::string(name) + ": cannot read the string");
    }
    int k = 0;
    for (const char* n : names) {
      if (std::strlen(n) == len && std::memcmp(buf, n, len) == 0) return k;
      ++k;
    }
    rangeError(std::string(name) + " must be one of " + list() + " but got '" +
               v.As<Napi::String>().Utf8Value() + "'");
  }
  /** A JS array of ≤ kMaxRank non-negative integers whose product fits. */
  Shape shape(size_t i, const char* name) const {
    Napi::Value v = info_[i];
    if (!v.IsArray()) typeError(std::string(name) + " must be an array of non-negative integers but got " + describe(v));
    Napi::Array arr = v.As<Napi::Array>();
    const uint32_t rank = arr.Length();
    if (rank > static_cast<uint32_t>(kMaxRank)) {
      rangeError(std::string(name) + " has rank " + std::to_string(rank) + " but at most " +
                 std::to_string(kMaxRank) + " is supported");
    }
    Shape s;
    s.rank = static_cast<int>(rank);
    for (uint32_t j = 0; j < rank; ++j) {
      Napi::Value e = arr.Get(j);
      auto at = [&] { return std::string(name) + "[" + std::to_string(j) + "]"; };
      if (!e.IsNumber()) typeError(at() + " must be a non-negative integer but got " + describe(e));
      const double d = e.As<Napi::Number>().DoubleValue();
      if (!(d >= 0) || std::isinf(d) || d != std::floor(d) || d > kMaxSafeInteger) {
        rangeError(at() + " must be a non-negative integer but got " + formatNumber(d));
      }
      s.dim[j] = static_cast<i64>(d);
    }
    s.numel = 1;
    for (int j = 0; j < s.rank; ++j) {
      if (__builtin_mul_overflow(s.numel, s.dim[j], &s.numel)) {
        rangeError(std::string("the product of ") + name + " overflows 64-bit integers");
      }
    }
    return s;
  }

  // ---------------------------------------------------------------- sizes and lengths
  /** a·b, or an error naming `expr` when it overflows 63 bits. */
  i64 mul(i64 a, i64 b, const char* expr) const {
    i64 r;
    if (__builtin_mul_overflow(a, b, &r)) rangeError(std::string(expr) + " overflows 64-bit integers");
    return r;
  }
  i64 mul(std::initializer_list<i64> xs, const char* expr) const {
    i64 r = 1;
    for (i64 x : xs) r = mul(r, x, expr);
    return r;
  }
  i64 add(i64 a, i64 b, const char* expr) const {
    i64 r;
    if (__builtin_add_overflow(a, b, &r)) rangeError(std::string(expr) + " overflows 64-bit integers");
    return r;
  }
  /**
   * The buffer holds at least `required` elements (an absent optional buffer needs none).
   * `expr` says where the count comes from ("m·k"); a plain number ("4") or "" is not repeated
   * in the message (as checkTyped in src/backend/validate.ts).
   */
  template <class T>
  void need(const Buf<T>& b, i64 required, const char* expr) const {
    if (!b.present && required == 0) return;
    if (static_cast<std::uint64_t>(required) > b.length) {
      const std::string count = formatInt(required);
      const std::string what = expr[0] == '\0' || count == expr ? count : expr + (" = " + count);
      rangeError("buffer " + std::string(b.name) + " has " + std::to_string(b.length) +
                 " elements but " + what + " are required");
    }
  }

  // ---------------------------------------------------------------- aliasing
  template <class T>
  static Span span(const Buf<T>& b, i64 elements, bool written) {
    const auto begin = reinterpret_cast<std::uintptr_t>(b.data);
    const bool empty = !b.present || elements == 0 || b.data == nullptr;
    return {b.name, begin, empty ? begin : begin + static_cast<std::uintptr_t>(elements) * sizeof(T),
            written};
  }
  /**
   * No written range overlaps another range, except the pairs in `sameOk`, which may be the
   * very same range (an in-place call) but not partially overlap.
   */
  void noOverlap(std::initializer_list<Span> spans,
                 std::initializer_list<std::pair<const char*, const char*>> sameOk = {}) const {
    for (auto p = spans.begin(); p != spans.end(); ++p) {
      for (auto q = p + 1; q != spans.end(); ++q) {
        if (!p->written && !q->written) continue;
        if (p->begin == p->end || q->begin == q->end) continue;
        if (p->end <= q->begin || q->end <= p->begin) continue;
        bool allowed = false;
        for (const auto& pr : sameOk) {
          const std::string a = pr.first, b = pr.second;
          if ((a == p->name && b == q->name) || (a == q->name && b == p->name)) allowed = true;
        }
        if (allowed && p->begin == q->begin && p->end == q->end) continue;
        const Span& w = p->written ? *p : *q;  // name the written one first
        const Span& o = p->written ? *q : *p;
        if (allowed) {
          error(std::string(w.name) + " partially overlaps " + o.name +
                " (it may only be the very same elements, for an in-place call)");
        }
        error(std::string(w.name) + " overlaps " + o.name + " (they must not share memory)");
      }
    }
  }

 private:
  const Napi::CallbackInfo& info_;
  const char* kernel_;
};

}  // namespace lernen::binding

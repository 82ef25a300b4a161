// The addon's export table. Context-aware: Init runs once per environment (main thread and
// each worker_thread) and the addon keeps no static mutable state; the thread count set with
// setNumThreads is process-wide (kernels/gemm.cc), as OpenBLAS's own count was.
#include <napi.h>

#include <new>
#include <string>

#include "entries.h"

namespace {

using Entry = Napi::Value (*)(const Napi::CallbackInfo&);

// Every entry point runs inside this guard: validation errors pass through as they are; any
// other C++ exception (std::bad_alloc for a kernel's scratch space) becomes a JS Error that
// names the kernel, instead of terminating the process. info.Data() is the kernel's name.
template <Entry F>
Napi::Value guarded(const Napi::CallbackInfo& info) {
  const char* name = static_cast<const char*>(info.Data());
  try {
    return F(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(info.Env(), std::string(name) + ": out of memory");
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string(name) + ": " + e.what());
  } catch (...) {
    throw Napi::Error::New(info.Env(), std::string(name) + ": unexpected native exception");
  }
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace lernen::binding;
  const struct {
    const char* name;
    Entry fn;
  } table[] = {
      {"gemm", guarded<Gemm>},
      {"gemmBatched", guarded<GemmBatched>},
      {"binary", guarded<Binary>},
      {"unary", guarded<Unary>},
      {"unaryBackward", guarded<UnaryBackward>},
      {"axpy", guarded<Axpy>},
      {"sumTo", guarded<SumTo>},
      {"permute", guarded<Permute>},
      {"gatherBytes", guarded<GatherBytes>},
      {"reduce", guarded<Reduce>},
      {"softmax", guarded<Softmax>},
      {"softmaxBackward", guarded<SoftmaxBackward>},
      {"softmaxCrossEntropy", guarded<SoftmaxCrossEntropy>},
      {"softmaxCrossEntropyBackward", guarded<SoftmaxCrossEntropyBackward>},
      {"biasAct", guarded<BiasAct>},
      {"biasActBackward", guarded<BiasActBackward>},
      {"im2col", guarded<Im2col>},
      {"col2im", guarded<Col2im>},
      {"conv2d", guarded<Conv2d>},
      {"conv2dBackward", guarded<Conv2dBackward>},
      {"conv2dMaxPool", guarded<Conv2dMaxPool>},
      {"conv2dMaxPoolBackward", guarded<Conv2dMaxPoolBackward>},
      {"maxPool2d", guarded<MaxPool2d>},
      {"maxPool2dBackward", guarded<MaxPool2dBackward>},
      {"avgPool2d", guarded<AvgPool2d>},
      {"avgPool2dBackward", guarded<AvgPool2dBackward>},
      {"batchNorm", guarded<BatchNorm>},
      {"batchNormBackward", guarded<BatchNormBackward>},
      {"sgdStep", guarded<SgdStep>},
      {"adamStep", guarded<AdamStep>},
      {"rmspropStep", guarded<RmspropStep>},
      {"randUniform", guarded<RandUniform>},
      {"randNormal", guarded<RandNormal>},
      {"dropoutMask", guarded<DropoutMask>},
      {"dropout", guarded<Dropout>},
      {"setNumThreads", guarded<SetNumThreads>},
      {"getNumThreads", guarded<GetNumThreads>},
      {"info", guarded<Info>},
  };
  for (const auto& e : table) {
    // The name (a string literal) doubles as the callback data read by guarded().
    void* data = const_cast<char*>(e.name);
    exports.Set(e.name, Napi::Function::New(env, e.fn, e.name, data));
  }
  return exports;
}

}  // namespace

NODE_API_MODULE(lernen, Init)

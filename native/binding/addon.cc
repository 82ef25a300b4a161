// The addon's export table. Context-aware: Init runs once per environment (main thread and
// each worker_thread) and the addon keeps no static mutable state; OpenBLAS's thread count is
// process-wide by OpenBLAS's design.
#include <napi.h>

#include "entries.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace lernen::binding;
  const struct {
    const char* name;
    Napi::Value (*fn)(const Napi::CallbackInfo&);
  } table[] = {
      {"gemm", Gemm},
      {"gemmBatched", GemmBatched},
      {"binary", Binary},
      {"unary", Unary},
      {"unaryBackward", UnaryBackward},
      {"axpy", Axpy},
      {"sumTo", SumTo},
      {"permute", Permute},
      {"reduce", Reduce},
      {"softmax", Softmax},
      {"softmaxBackward", SoftmaxBackward},
      {"softmaxCrossEntropy", SoftmaxCrossEntropy},
      {"softmaxCrossEntropyBackward", SoftmaxCrossEntropyBackward},
      {"biasAct", BiasAct},
      {"biasActBackward", BiasActBackward},
      {"im2col", Im2col},
      {"col2im", Col2im},
      {"maxPool2d", MaxPool2d},
      {"maxPool2dBackward", MaxPool2dBackward},
      {"avgPool2d", AvgPool2d},
      {"avgPool2dBackward", AvgPool2dBackward},
      {"batchNorm", BatchNorm},
      {"batchNormBackward", BatchNormBackward},
      {"sgdStep", SgdStep},
      {"adamStep", AdamStep},
      {"rmspropStep", RmspropStep},
      {"randUniform", RandUniform},
      {"randNormal", RandNormal},
      {"dropoutMask", DropoutMask},
      {"setNumThreads", SetNumThreads},
      {"getNumThreads", GetNumThreads},
      {"info", Info},
  };
  for (const auto& e : table) exports.Set(e.name, Napi::Function::New(env, e.fn, e.name));
  return exports;
}

}  // namespace

NODE_API_MODULE(lernen, Init)

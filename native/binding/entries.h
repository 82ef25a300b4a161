// The addon's entry points, one group per kernel family (native/binding/<family>.cc).
#pragma once

#include <napi.h>

namespace lernen::binding {

// gemm.cc
Napi::Value Gemm(const Napi::CallbackInfo& info);
Napi::Value GemmBatched(const Napi::CallbackInfo& info);
// elementwise.cc
Napi::Value Binary(const Napi::CallbackInfo& info);
Napi::Value Unary(const Napi::CallbackInfo& info);
Napi::Value UnaryBackward(const Napi::CallbackInfo& info);
Napi::Value Axpy(const Napi::CallbackInfo& info);
Napi::Value SumTo(const Napi::CallbackInfo& info);
Napi::Value Permute(const Napi::CallbackInfo& info);
Napi::Value GatherBytes(const Napi::CallbackInfo& info);
// reduce.cc
Napi::Value Reduce(const Napi::CallbackInfo& info);
// softmax.cc
Napi::Value Softmax(const Napi::CallbackInfo& info);
Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info);
Napi::Value SoftmaxCrossEntropy(const Napi::CallbackInfo& info);
Napi::Value SoftmaxCrossEntropyBackward(const Napi::CallbackInfo& info);
// bias_act.cc
Napi::Value BiasAct(const Napi::CallbackInfo& info);
Napi::Value BiasActBackward(const Napi::CallbackInfo& info);
// conv.cc
Napi::Value Im2col(const Napi::CallbackInfo& info);
Napi::Value Col2im(const Napi::CallbackInfo& info);
// conv_fused.cc
Napi::Value Conv2d(const Napi::CallbackInfo& info);
Napi::Value Conv2dBackward(const Napi::CallbackInfo& info);
Napi::Value Conv2dMaxPool(const Napi::CallbackInfo& info);
Napi::Value Conv2dMaxPoolBackward(const Napi::CallbackInfo& info);
// pool.cc
Napi::Value MaxPool2d(const Napi::CallbackInfo& info);
Napi::Value MaxPool2dBackward(const Napi::CallbackInfo& info);
Napi::Value AvgPool2d(const Napi::CallbackInfo& info);
Napi::Value AvgPool2dBackward(const Napi::CallbackInfo& info);
// batchnorm.cc
Napi::Value BatchNorm(const Napi::CallbackInfo& info);
Napi::Value BatchNormBackward(const Napi::CallbackInfo& info);
// optim.cc
Napi::Value SgdStep(const Napi::CallbackInfo& info);
Napi::Value AdamStep(const Napi::CallbackInfo& info);
Napi::Value RmspropStep(const Napi::CallbackInfo& info);
// rng.cc
Napi::Value RandUniform(const Napi::CallbackInfo& info);
Napi::Value RandNormal(const Napi::CallbackInfo& info);
Napi::Value DropoutMask(const Napi::CallbackInfo& info);
Napi::Value Dropout(const Napi::CallbackInfo& info);
// threads.cc
Napi::Value SetNumThreads(const Napi::CallbackInfo& info);
Napi::Value GetNumThreads(const Napi::CallbackInfo& info);
Napi::Value Info(const Napi::CallbackInfo& info);

}  // namespace lernen::binding

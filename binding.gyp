{
  "targets": [
    {
      "target_name": "lernen",
      "sources": [
        "native/kernels/batchnorm.cc",
        "native/kernels/bias_act.cc",
        "native/kernels/conv.cc",
        "native/kernels/conv_fused.cc",
        "native/kernels/elementwise.cc",
        "native/kernels/gemm.cc",
        "native/kernels/optim.cc",
        "native/kernels/parallel.cc",
        "native/kernels/pool.cc",
        "native/kernels/reduce.cc",
        "native/kernels/rng.cc",
        "native/kernels/softmax.cc",
        "native/binding/addon.cc",
        "native/binding/batchnorm.cc",
        "native/binding/bias_act.cc",
        "native/binding/conv.cc",
        "native/binding/conv_fused.cc",
        "native/binding/elementwise.cc",
        "native/binding/gemm.cc",
        "native/binding/optim.cc",
        "native/binding/pool.cc",
        "native/binding/reduce.cc",
        "native/binding/rng.cc",
        "native/binding/softmax.cc",
        "native/binding/threads.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native/kernels",
        "<!@(pkg-config --cflags-only-I openblas | sed s/-I//g)"
      ],
      "libraries": [
        "<!@(pkg-config --libs openblas)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags": ["-O3", "-fvisibility=hidden", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math"],
      "cflags_cc": ["-O3", "-std=c++17", "-fexceptions", "-fvisibility=hidden", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "OTHER_CFLAGS": ["-O3", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math"]
      }
    }
  ]
}

# Target cvtl_layers: the trainable layers (plugin/layers/), forward and backward on oneDNN.
add_library(cvtl_layers STATIC
  plugin/layers/onednn_context.cpp
  plugin/layers/onednn_memory.cpp
  plugin/layers/precision.cpp
  plugin/layers/tensor_shape.cpp
  plugin/layers/window.cpp
  plugin/layers/relu_kernels.cpp
  plugin/layers/conv2d.cpp
  plugin/layers/relu.cpp
  plugin/layers/pool2d.cpp
  plugin/layers/flatten.cpp
  plugin/layers/linear.cpp
  plugin/layers/dropout.cpp
  plugin/layers/batch_norm2d.cpp
  plugin/layers/softmax_cross_entropy.cpp
)
target_include_directories(cvtl_layers PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(cvtl_layers PUBLIC opencv_core DNNL::dnnl OpenMP::OpenMP_CXX)
cvtl_warnings(cvtl_layers)

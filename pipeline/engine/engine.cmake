# Target cvtl_engine: the training engine. Its layers (pipeline/engine/layers/, forward and backward on
# oneDNN), the network they chain into, its weights and the optimizer (docs/architecture.md).
add_library(cvtl_engine STATIC
  pipeline/engine/network.cpp
  pipeline/engine/weights.cpp
  pipeline/engine/optimizer.cpp
  pipeline/engine/layer_kind.cpp
  pipeline/engine/kinds/kind_support.cpp
  pipeline/engine/kinds/conv2d_kind.cpp
  pipeline/engine/kinds/batch_norm_kind.cpp
  pipeline/engine/kinds/relu_kind.cpp
  pipeline/engine/kinds/pool2d_kind.cpp
  pipeline/engine/kinds/flatten_kind.cpp
  pipeline/engine/kinds/linear_kind.cpp
  pipeline/engine/kinds/dropout_kind.cpp
  pipeline/engine/kinds/scale_kind.cpp
  pipeline/engine/kinds/untrained_kinds.cpp
  pipeline/engine/kinds/add_kind.cpp
  pipeline/engine/kinds/clip_kind.cpp
  pipeline/engine/layers/onednn_context.cpp
  pipeline/engine/layers/onednn_memory.cpp
  pipeline/engine/layers/precision.cpp
  pipeline/engine/layers/tensor_shape.cpp
  pipeline/engine/layers/window.cpp
  pipeline/engine/layers/relu_kernels.cpp
  pipeline/engine/layers/conv2d.cpp
  pipeline/engine/layers/relu.cpp
  pipeline/engine/layers/pool2d.cpp
  pipeline/engine/layers/flatten.cpp
  pipeline/engine/layers/linear.cpp
  pipeline/engine/layers/dropout.cpp
  pipeline/engine/layers/batch_norm2d.cpp
  pipeline/engine/layers/add.cpp
  pipeline/engine/layers/clip.cpp
  pipeline/engine/layers/softmax_cross_entropy.cpp
)
target_include_directories(cvtl_engine PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(cvtl_engine PUBLIC cvtl_core opencv_core opencv_dnn DNNL::dnnl OpenMP::OpenMP_CXX nlohmann_json::nlohmann_json)
cvtl_warnings(cvtl_engine)
# The optimizer's update loops call std::sqrt; with errno semantics GCC keeps them scalar (a compare and
# a call per element) and Adam ran at half the machine's copy bandwidth. cvtl never reads errno after
# arithmetic, so the loops may vectorise (the square root itself is the same correctly rounded one).
set_source_files_properties(pipeline/engine/optimizer.cpp PROPERTIES COMPILE_OPTIONS "-fno-math-errno")

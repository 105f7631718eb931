# Benchmarks (tools/bench/): programs timed by the scripts next to them, not tests.
# Binaries go to ${CMAKE_BINARY_DIR}/bin with cvtl itself.

# Training-step time of the heads cvtl trains from a cache (VGG-16 shapes); bench_train.sh runs it
# against torch_train_step.py.
add_executable(cvtl_bench_train_step tools/bench/bench_train_step.cpp)
target_link_libraries(cvtl_bench_train_step PRIVATE cvtl_pipeline CLI11::CLI11)
set_target_properties(cvtl_bench_train_step PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
cvtl_warnings(cvtl_bench_train_step)

# cv::dnn forward with cvtl's convolution registered through LayerFactory vs stock (any OpenCV app).
add_executable(cvtl_bench_layer_factory tools/bench/bench_layer_factory.cpp)
target_link_libraries(cvtl_bench_layer_factory PRIVATE cvtl_plugin CLI11::CLI11)
set_target_properties(cvtl_bench_layer_factory PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
cvtl_warnings(cvtl_bench_layer_factory)

# A VGG-16-layout ONNX model with random weights at any width, written by cvtl's exporter: the speed
# guard's model (guard_extract.sh), made without Python.
add_executable(cvtl_make_vgg16 tools/bench/make_vgg16.cpp)
target_link_libraries(cvtl_make_vgg16 PRIVATE cvtl_pipeline CLI11::CLI11)
set_target_properties(cvtl_make_vgg16 PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
cvtl_warnings(cvtl_make_vgg16)

# The optimizer step of VGG-16's classifier against this machine's copy bandwidth (issue: a fast
# optimizer step for wide layers); docs/benchmarks.md has its figures.
add_executable(cvtl_bench_optimizer tools/bench/bench_optimizer.cpp)
target_link_libraries(cvtl_bench_optimizer PRIVATE cvtl_pipeline CLI11::CLI11)
set_target_properties(cvtl_bench_optimizer PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
cvtl_warnings(cvtl_bench_optimizer)

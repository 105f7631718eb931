# Layer tests: optimized-vs-naive kernels and finite-difference gradient checks, as their own executable.
add_executable(cvtl_layer_tests
  support/naive_kernels.cpp
  test_layer_conv2d.cpp
  test_layer_linear.cpp
  test_layer_pooling.cpp
  test_layer_batch_norm.cpp
  test_layer_dropout.cpp
  test_layer_relu_flatten.cpp
  test_layer_softmax_cross_entropy.cpp
  test_layer_gradcheck.cpp
  test_network_graph.cpp
)
target_include_directories(cvtl_layer_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(cvtl_layer_tests PRIVATE cvtl_test_main cvtl_engine doctest::doctest)
cvtl_warnings(cvtl_layer_tests)

# Each TEST_SUITE is a CTest label: unit, gradcheck.
doctest_discover_tests(cvtl_layer_tests ADD_LABELS 1 PROPERTIES ENVIRONMENT "${CVTL_TEST_ENVIRONMENT}")

# cvtl as an installable library (included by the top-level CMakeLists.txt):
#  - libcvtl.so.<major> (SONAME) made of the static libraries (core, engine, plugin, and a library per pipeline folder);
#  - public headers under <prefix>/include/cvtl/{plugin,pipeline}/ and <prefix>/include/cvtl/version.hpp;
#  - a CMake package: find_package(cvtl) -> cvtl::cvtl; a pkg-config file cvtl.pc;
#  - the cvtl tool; CPack's .deb with dependencies found by dpkg-shlibdeps.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

add_library(cvtl_shared SHARED tools/packaging/library_version.cpp)
# The static libraries' every object goes in, not only those the one source file above needs
# (their own dependencies follow as ordinary link libraries).
set(cvtl_static_targets ${CVTL_PIPELINE_TARGETS} cvtl_plugin cvtl_engine cvtl_core)
set(cvtl_archives "")
foreach(target ${cvtl_static_targets})
  list(APPEND cvtl_archives $<TARGET_FILE:${target}>)
endforeach()
target_link_options(cvtl_shared PRIVATE "LINKER:--whole-archive" ${cvtl_archives} "LINKER:--no-whole-archive")
add_dependencies(cvtl_shared ${cvtl_static_targets})
set_property(TARGET cvtl_shared APPEND PROPERTY LINK_DEPENDS ${cvtl_archives})
target_link_libraries(cvtl_shared PRIVATE onnx onnx_proto protobuf::libprotobuf OpenSSL::Crypto OpenMP::OpenMP_CXX PkgConfig::PLPLOT MPI::MPI_C)
# What an app that includes cvtl's headers needs too (the headers use these libraries' types).
target_link_libraries(cvtl_shared PUBLIC opencv_core opencv_imgproc opencv_imgcodecs opencv_dnn hdf5::hdf5_cpp hdf5::hdf5
                      TBB::tbb nlohmann_json::nlohmann_json DNNL::dnnl Boost::filesystem)
target_include_directories(cvtl_shared INTERFACE
  "$<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR};${CMAKE_CURRENT_BINARY_DIR}/generated>"
  "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR};${CMAKE_INSTALL_INCLUDEDIR}/cvtl>")
target_include_directories(cvtl_shared PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/generated)
set_target_properties(cvtl_shared PROPERTIES OUTPUT_NAME cvtl EXPORT_NAME cvtl
                      VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR})

install(TARGETS cvtl_shared EXPORT cvtlTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime)
install(TARGETS cvtl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
foreach(dir plugin pipeline/core pipeline/data pipeline/cache pipeline/dist pipeline/engine pipeline/engine/layers pipeline/train pipeline/deploy pipeline/report)
  file(GLOB headers ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/*.hpp)
  install(FILES ${headers} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/cvtl/${dir} COMPONENT runtime)
endforeach()
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/generated/cvtl/version.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/cvtl COMPONENT runtime)

install(EXPORT cvtlTargets NAMESPACE cvtl:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cvtl COMPONENT runtime)
configure_package_config_file(tools/packaging/cvtlConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/cvtlConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cvtl)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/cvtlConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/cvtlConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/cvtlConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cvtl COMPONENT runtime)
# The prefix is found from the .pc file's own place, so the file stays right under any --prefix.
file(RELATIVE_PATH CVTL_PC_TO_PREFIX "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" CVTL_PC_TO_PREFIX "${CVTL_PC_TO_PREFIX}")
configure_file(tools/packaging/cvtl.pc.in ${CMAKE_CURRENT_BINARY_DIR}/cvtl.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/cvtl.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT runtime)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME cvtl)
set(CPACK_PACKAGE_VENDOR "cvtl")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Transfer learning for VGG networks on top of OpenCV DNN (library, headers, tool)")
set(CPACK_PACKAGE_FILE_NAME "cvtl_${PROJECT_VERSION}_amd64")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "cvtl developers <cvtl@localhost>")
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)   # Depends from the shared libraries the binaries link
# Headers include these libraries' headers: an app building against cvtl needs them too.
# PLplot loads its cairo driver at run time (dpkg-shlibdeps cannot see it); without it charts use the plainer mem driver.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "plplot-driver-cairo, libopencv-dev, libhdf5-dev, libtbb-dev, nlohmann-json3-dev, libdnnl-dev, libboost-filesystem-dev")
include(CPack)

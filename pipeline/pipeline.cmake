# The batch job, one static library per folder (docs/architecture.md, "Targets and folders"). Each
# target links only the folders beneath it, so a call into a folder above fails to link; include
# cycles, which a header-only use would not show to the linker, are caught by tools/check_layers.sh.

# data: datasets, CSV, decoding, preprocessing, batches (oneTBB).
add_library(cvtl_data STATIC
  pipeline/data/csv_reader.cpp
  pipeline/data/csv_writer.cpp
  pipeline/data/dataset.cpp
  pipeline/data/image_decode.cpp
  pipeline/data/preprocess.cpp
  pipeline/data/augment.cpp
  pipeline/data/file_stamp.cpp
  pipeline/data/batch_runner.cpp
)
target_link_libraries(cvtl_data
  PUBLIC cvtl_plugin cvtl_core opencv_core opencv_imgproc opencv_imgcodecs Boost::filesystem TBB::tbb
         nlohmann_json::nlohmann_json
)

# dist: the processes of an mpirun job and data-parallel gradients (Open MPI's C interface).
add_library(cvtl_dist STATIC
  pipeline/dist/communicator.cpp
  pipeline/dist/batch_slice.cpp
  pipeline/dist/gradient_reducer.cpp
  pipeline/dist/shared_dataset.cpp
)
target_link_libraries(cvtl_dist PUBLIC cvtl_data cvtl_engine cvtl_core PRIVATE MPI::MPI_C)
# MPI's C interface only: Open MPI's mpi.h would otherwise pull its deprecated C++ bindings.
target_compile_definitions(cvtl_dist PRIVATE OMPI_SKIP_MPICXX MPICH_SKIP_MPICXX)

# cache: extraction and the HDF5 activation cache.
add_library(cvtl_cache STATIC
  pipeline/cache/h5_helpers.cpp
  pipeline/cache/cache_writer.cpp
  pipeline/cache/disk_space.cpp
  pipeline/cache/cache_file.cpp
  pipeline/cache/cache_info.cpp
  pipeline/cache/tap_engine.cpp
  pipeline/cache/row_extraction.cpp
  pipeline/cache/cache_update.cpp
  pipeline/cache/shards.cpp
  pipeline/cache/h5_virtual.cpp
  pipeline/cache/cache_map.cpp
  pipeline/cache/cache_rows.cpp
  pipeline/cache/open_files.cpp
  pipeline/cache/cache_merge.cpp
  pipeline/cache/cache_pack.cpp
  pipeline/cache/extractor.cpp
  pipeline/cache/cache_reader.cpp
)
target_link_libraries(cvtl_cache PUBLIC cvtl_dist cvtl_data cvtl_plugin cvtl_engine cvtl_core hdf5::hdf5_cpp hdf5::hdf5)

# report: charts, drawn by PLplot (Debian's libplplot-dev); PRIVATE: no cvtl header includes plplot.h,
# so apps building against cvtl do not need it.
find_package(PkgConfig REQUIRED)
pkg_check_modules(PLPLOT REQUIRED IMPORTED_TARGET plplot)
add_library(cvtl_report STATIC pipeline/report/chart.cpp pipeline/report/contact_sheet.cpp)
target_link_libraries(cvtl_report PUBLIC cvtl_core opencv_core PRIVATE opencv_imgproc opencv_imgcodecs PkgConfig::PLPLOT)

# train: training, the sweep and the tap pilot.
add_library(cvtl_train STATIC
  pipeline/train/batch_stream.cpp
  pipeline/train/run_meta.cpp
  pipeline/train/run_state.cpp
  pipeline/train/run_report.cpp
  pipeline/train/train_defaults.cpp
  pipeline/train/trainer.cpp
  pipeline/train/validation_pass.cpp
  pipeline/train/kfold.cpp
  pipeline/train/sweep_candidates.cpp
  pipeline/train/sweep_plan.cpp
  pipeline/train/tap_choice.cpp
  pipeline/train/tap_pilot.cpp
  pipeline/train/sweep_state.cpp
  pipeline/train/sweep_scoring.cpp
  pipeline/train/sweep.cpp
  pipeline/train/sweep_report.cpp
)
target_link_libraries(cvtl_train PUBLIC cvtl_cache cvtl_report cvtl_dist cvtl_data cvtl_plugin cvtl_engine cvtl_core)

# deploy: export, predict, evaluate.
add_library(cvtl_deploy STATIC
  pipeline/deploy/exporter.cpp
  pipeline/deploy/sweep_export.cpp
  pipeline/deploy/model_description.cpp
  pipeline/deploy/classifier_model.cpp
  pipeline/deploy/evaluator.cpp
  pipeline/deploy/predictor.cpp
)
target_link_libraries(cvtl_deploy PUBLIC cvtl_train cvtl_cache cvtl_dist cvtl_data cvtl_plugin cvtl_engine cvtl_core)

set(CVTL_PIPELINE_TARGETS cvtl_data cvtl_dist cvtl_cache cvtl_report cvtl_train cvtl_deploy)
foreach(target ${CVTL_PIPELINE_TARGETS})
  cvtl_warnings(${target})
endforeach()

# Everything above, for the tools and tests that use the whole pipeline.
add_library(cvtl_pipeline INTERFACE)
target_link_libraries(cvtl_pipeline INTERFACE ${CVTL_PIPELINE_TARGETS})

# Robustness (issue #6): crash safety, bad input, the writer lock. Included from
# tests/CMakeLists.txt; fuzz targets live in tests/fuzz (TRACLENS_BUILD_FUZZERS).
traclens_add_test(test_projectlock SOURCES engine/test_projectlock.cpp LIBS traclens::core)
traclens_add_test(test_badinput SOURCES engine/test_badinput.cpp
  LIBS traclens::core OpenCV::imgcodecs OpenCV::imgproc SQLite::SQLite3 ZLIB::ZLIB)
traclens_add_test(test_crashsafety SOURCES engine/test_crashsafety.cpp LIBS traclens::core)
foreach(t test_projectlock test_crashsafety)
  target_compile_definitions(${t} PRIVATE TRACLENS_CLI="$<TARGET_FILE:traclens-cli>")
  add_dependencies(${t} traclens-cli)
endforeach()
# Files in, files out: exports stay inside their folder, capped file reads, damaged projects.
traclens_add_test(test_export SOURCES engine/test_export.cpp
  LIBS traclens::core OpenCV::imgcodecs ZLIB::ZLIB)
traclens_add_test(test_filereader SOURCES data/test_filereader.cpp LIBS traclens::core)
traclens_add_test(test_damagedproject SOURCES engine/test_damagedproject.cpp LIBS traclens::core SQLite::SQLite3)
target_compile_definitions(test_damagedproject PRIVATE TRACLENS_CLI="$<TARGET_FILE:traclens-cli>")
add_dependencies(test_damagedproject traclens-cli)

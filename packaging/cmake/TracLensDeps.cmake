# Debian's split libopencv-*-dev packages ship no OpenCVConfig.cmake, so the
# three modules TracLens uses are found by hand and wrapped as imported targets.
foreach(_mod core imgproc imgcodecs)
  find_library(OpenCV_${_mod}_LIBRARY NAMES opencv_${_mod} REQUIRED)
  if(NOT TARGET OpenCV::${_mod})
    add_library(OpenCV::${_mod} SHARED IMPORTED)
    set_target_properties(OpenCV::${_mod} PROPERTIES IMPORTED_LOCATION ${OpenCV_${_mod}_LIBRARY})
  endif()
endforeach()
find_path(OpenCV_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4 REQUIRED)
set_target_properties(OpenCV::core PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${OpenCV_INCLUDE_DIR})
set_target_properties(OpenCV::imgproc PROPERTIES INTERFACE_LINK_LIBRARIES OpenCV::core)
set_target_properties(OpenCV::imgcodecs PROPERTIES INTERFACE_LINK_LIBRARIES OpenCV::imgproc)

# hnswlib is header-only.
find_path(HNSWLIB_INCLUDE_DIR hnswlib/hnswlib.h REQUIRED)
if(NOT TARGET hnswlib::hnswlib)
  add_library(hnswlib::hnswlib INTERFACE IMPORTED)
  set_target_properties(hnswlib::hnswlib PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${HNSWLIB_INCLUDE_DIR})
endif()

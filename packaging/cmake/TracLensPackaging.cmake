# `cpack -G DEB` (from the build folder) builds traclens_<version>_<arch>.deb with the
# desktop app, the CLI, the desktop entry, the icon and the Python helper. Shared-library
# dependencies are computed by dpkg-shlibdeps; the dataset is declared by hand because
# `traclens --demo` opens it.
install(FILES ${PROJECT_SOURCE_DIR}/resources/python/traclens_model.py
        DESTINATION ${CMAKE_INSTALL_DATADIR}/traclens/python OPTIONAL)

# The Python helper also goes where python3 imports it from, so a training script needs no
# sys.path line. Debian's python3 looks in /usr/lib/python3/dist-packages (packaged modules:
# the .deb, whose prefix is /usr) and /usr/local/lib/python3.X/dist-packages (a /usr/local
# install). The prefix is known only when installing (`cmake --install --prefix`, CPack), so
# the folder is chosen then: lib/python3/dist-packages under /usr, else
# lib/python3.X/dist-packages (X of the python3 found here; for prefixes other than
# /usr/local that folder goes on PYTHONPATH). TRACLENS_PYTHON_MODULE_DIR (relative to the
# prefix, or absolute) overrides the choice.
find_package(Python3 QUIET COMPONENTS Interpreter)
if(Python3_VERSION_MAJOR AND Python3_VERSION_MINOR)
  set(_traclens_python_version "${Python3_VERSION_MAJOR}.${Python3_VERSION_MINOR}")
else()
  set(_traclens_python_version "3.11") # Debian 12
endif()
set(TRACLENS_PYTHON_MODULE_DIR "" CACHE STRING
    "Where traclens_model.py is installed for 'import traclens_model' (empty: chosen from the install prefix)")
install(CODE "
  set(_dir \"${TRACLENS_PYTHON_MODULE_DIR}\")
  if(NOT _dir)
    if(CMAKE_INSTALL_PREFIX STREQUAL \"/usr\")
      set(_dir lib/python3/dist-packages)
    else()
      set(_dir lib/python${_traclens_python_version}/dist-packages)
    endif()
  endif()
  if(NOT IS_ABSOLUTE \"\${_dir}\")
    set(_dir \"\${CMAKE_INSTALL_PREFIX}/\${_dir}\")
  endif()
  file(INSTALL DESTINATION \"\${_dir}\" TYPE FILE
       FILES \"${PROJECT_SOURCE_DIR}/resources/python/traclens_model.py\")
")
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME traclens)
set(CPACK_PACKAGE_VENDOR "TracLens")
set(CPACK_PACKAGE_CONTACT "TracLens developers <traclens@localhost>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Debug image-classification datasets with TracIn")
set(CPACK_PACKAGE_DESCRIPTION "TracLens computes TracIn training-data influence for image classifiers and
shows proponents, opponents and embedding neighbours of any image, a self-influence review
queue for finding mislabelled examples, and exports corrected labels.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "dataset-fashion-mnist")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libopenblas0-pthread, python3-torch")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
include(CPack)

# `cpack -G DEB` (from the build folder) builds traclens_<version>_<arch>.deb with the
# desktop app, the CLI, the desktop entry, the icon and the Python helper. Shared-library
# dependencies are computed by dpkg-shlibdeps; the dataset is declared by hand because
# `traclens --demo` opens it.
install(FILES ${PROJECT_SOURCE_DIR}/resources/python/traclens_model.py
        DESTINATION ${CMAKE_INSTALL_DATADIR}/traclens/python OPTIONAL)
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

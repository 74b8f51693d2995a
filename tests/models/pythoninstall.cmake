# test_pythoninstall: `import traclens_model` works after installing, with no sys.path line.
# Installs the build (cmake --install) with DESTDIR for the prefixes /usr (the .deb) and
# /usr/local, and once to a plain folder; then asks python3 to import the helper from its real
# sys.path folders, each mapped into the DESTDIR, and checks which folder it came from.
# usage: cmake -DBUILD_DIR=<build> -DWORK_DIR=<scratch> -DPYTHON=<python3> -P pythoninstall.cmake
file(REMOVE_RECURSE "${WORK_DIR}")
foreach(case "/usr|/usr/lib/python3/dist-packages" "/usr/local|/usr/local/lib/python3.*/dist-packages")
  string(REPLACE "|" ";" parts "${case}")
  list(GET parts 0 prefix)
  list(GET parts 1 expected)
  set(destdir "${WORK_DIR}/destdir${prefix}")
  execute_process(COMMAND ${CMAKE_COMMAND} -E env "DESTDIR=${destdir}"
                          ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}"
                  RESULT_VARIABLE rc OUTPUT_QUIET)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cmake --install --prefix ${prefix} failed (${rc})")
  endif()
  if(NOT EXISTS "${destdir}${prefix}/share/traclens/python/traclens_model.py")
    message(FATAL_ERROR "${prefix}: share/traclens/python/traclens_model.py was not installed")
  endif()
  # Python's own dist-packages folders, each also looked up inside DESTDIR (first).
  execute_process(COMMAND "${PYTHON}" -c "
import sys
d = sys.argv[1]
real = [p for p in sys.path if p.endswith('dist-packages')]
sys.path = [d + p for p in real] + sys.path
import traclens_model
f = traclens_model.__file__
assert f.startswith(d), f + ' is not the installed copy'
print(f[len(d):])
" "${destdir}" RESULT_VARIABLE rc OUTPUT_VARIABLE found ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "prefix ${prefix}: python3 does not import the installed helper:\n${err}")
  endif()
  string(REPLACE "*" ".*" pattern "^${expected}/traclens_model.py$")
  if(NOT found MATCHES "${pattern}")
    message(FATAL_ERROR "prefix ${prefix}: imported ${found}, expected ${expected}/traclens_model.py")
  endif()
  message(STATUS "prefix ${prefix}: python3 imports ${found}")
endforeach()
# Any other prefix: lib/python3.X/dist-packages there, for PYTHONPATH.
execute_process(COMMAND ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${WORK_DIR}/prefix"
                RESULT_VARIABLE rc OUTPUT_QUIET)
file(GLOB found "${WORK_DIR}/prefix/lib/python3.*/dist-packages/traclens_model.py")
if(NOT rc EQUAL 0 OR NOT found)
  message(FATAL_ERROR "cmake --install --prefix ${WORK_DIR}/prefix: no lib/python3.X/dist-packages/traclens_model.py")
endif()
message(STATUS "prefix ${WORK_DIR}/prefix: ${found}")
file(REMOVE_RECURSE "${WORK_DIR}")

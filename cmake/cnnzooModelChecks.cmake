# Registration of the per-model Python checks (tests/parity, tests/onnx).
#
# cnnzoo_find_python(VAR "import ..." [GIVEN]): GIVEN if set, else the first of /usr/bin/python3
# (Debian's packages live there; an earlier python3 on PATH may hide it) and the Python3 found by
# CMake that runs the import; else "python3", whose tests then skip.
function(cnnzoo_find_python var imports)
  set(found "${ARGN}")
  if(NOT found)
    find_package(Python3 COMPONENTS Interpreter QUIET)
    foreach(candidate /usr/bin/python3 ${Python3_EXECUTABLE})
      if(EXISTS ${candidate})
        execute_process(COMMAND ${candidate} -c "${imports}" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
        if(rc EQUAL 0)
          set(found ${candidate})
          break()
        endif()
      endif()
    endforeach()
  endif()
  if(NOT found)
    message(STATUS "cnnzoo: no Python that can '${imports}'; those tests will skip")
    set(found python3)
  endif()
  set(${var} ${found} PARENT_SCOPE)
endfunction()

# cnnzoo_add_model_checks(LABEL PYTHON MODULE MODELS... ARGS ...): one test LABEL/NAME per model,
# `PYTHON -m cnnzoo_torch.MODULE ARGS... --json BUILD/LABEL.jsonl NAME`, skipping with exit 77.
# SENet154 (568 M parameters: 10 to 17 GB at its peak, 5 to 6 minutes on two cores) runs alone and
# carries the label `heavy`: scripts/parity-table.sh runs it, the default test command leaves it out.
function(cnnzoo_add_model_checks label python module)
  cmake_parse_arguments(arg "" "" "MODELS;ARGS" ${ARGN})
  foreach(name IN LISTS arg_MODELS)
    add_test(NAME ${label}/${name}
      COMMAND ${python} -m cnnzoo_torch.${module} ${arg_ARGS} --json ${CMAKE_BINARY_DIR}/${label}.jsonl ${name})
    set(labels "cpu;${label}")
    if(name STREQUAL "SENet154")
      list(APPEND labels heavy)
      set_tests_properties(${label}/${name} PROPERTIES RUN_SERIAL TRUE)
    endif()
    set_tests_properties(${label}/${name} PROPERTIES LABELS "${labels}" SKIP_RETURN_CODE 77 TIMEOUT 900
      ENVIRONMENT "PYTHONPATH=${PROJECT_SOURCE_DIR}/python;OMP_NUM_THREADS=1;OMP_WAIT_POLICY=passive")
  endforeach()
endfunction()

# For the classify_image example's test: ResNet18 weights (parity_dump draws them) and a 32 x 32
# binary PPM whose every byte is 'P' (80, a dark grey), which stb_image reads like any image.
execute_process(COMMAND ${DUMP} ResNet18 ${DIR} --batch 1 --no-fp64 RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "parity_dump failed: ${rc}")
endif()
string(REPEAT "P" 3072 pixels)
file(WRITE ${DIR}/image.ppm "P6\n32 32\n255\n${pixels}")

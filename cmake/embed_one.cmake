# Writes OUT: a C file defining SYMBOL as the NUL-terminated text of INPUT.
file(READ ${INPUT} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE ${OUT} "/* generated from ${INPUT}: do not edit */\nconst char ${SYMBOL}[] = {${bytes}0x00};\n")

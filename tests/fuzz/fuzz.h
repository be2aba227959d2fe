/*
 * fuzz.h - libFuzzer entry points shared by the fuzz targets and by the
 * replay driver (replay.c) that runs their corpora in `make check`.
 */
#ifndef OFFLOAD_FUZZ_H
#define OFFLOAD_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif

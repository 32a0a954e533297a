# cython: language_level=3
# The seed's random_noise, as published (its listing lost the `free`), allocating through a
# membuf instance instead of libc: the block leaks, and closing the instance reports exactly one
# leak of number * 8 bytes. random_noise_fixed.pyx is the twin with the free.
import random

from membuf cimport cmembuf
from membuf._core cimport Allocator


def random_noise(Allocator alloc not None, int number=1):
    cdef int i
    # allocate number * sizeof(double) bytes of memory
    cdef double *my_array = <double *> cmembuf.mb_malloc(
        alloc.ptr, number * sizeof(double))
    if not my_array:
        raise MemoryError()

    ran = random.normalvariate
    for i in range(number):
        my_array[i] = ran(0, 1)

    return [x for x in my_array[:number]]

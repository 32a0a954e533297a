# cython: language_level=3
# The seed's random_noise with its free restored (try/finally): nothing leaks.
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

    try:
        ran = random.normalvariate
        for i in range(number):
            my_array[i] = ran(0, 1)

        return [x for x in my_array[:number]]
    finally:
        # return the previously allocated memory to its allocator
        cmembuf.mb_free(alloc.ptr, my_array)

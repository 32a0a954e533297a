# cython: language_level=3
# PLANTED BUG: SomeMemory (some_memory.pyx) with the older documented resize,
# `self.data = realloc(self.data, n)`: when the realloc fails, the NULL result overwrites the only
# pointer to the old block (leaked: still live in the allocator's statistics) and the contents are
# lost. The fail_after loop in python/tests/test_examples.py must catch it. Only resize differs.
from membuf cimport cmembuf
from membuf._core cimport Allocator

import membuf

default_allocator = membuf.pymem()


cdef class SomeMemory:
    cdef double* data
    cdef readonly size_t number
    cdef readonly Allocator alloc

    def __cinit__(self, size_t number, Allocator alloc=None):
        if alloc is None:
            alloc = default_allocator
        alloc.retain()
        self.alloc = alloc
        self.data = <double*> cmembuf.mb_malloc(alloc.ptr, number * sizeof(double))
        if not self.data:
            raise MemoryError()
        self.number = number

    def resize(self, size_t new_number):
        self.data = <double*> cmembuf.mb_realloc(self.alloc.ptr, self.data,
                                                 new_number * sizeof(double))
        if not self.data:
            raise MemoryError()
        self.number = new_number

    def __dealloc__(self):
        if self.alloc is not None:
            cmembuf.mb_free(self.alloc.ptr, self.data)
            self.alloc.release()

    def __len__(self):
        return self.number

    def __getitem__(self, Py_ssize_t i):
        if not 0 <= i < <Py_ssize_t>self.number or self.data is NULL:
            raise IndexError(i)
        return self.data[i]

    def __setitem__(self, Py_ssize_t i, double v):
        if not 0 <= i < <Py_ssize_t>self.number or self.data is NULL:
            raise IndexError(i)
        self.data[i] = v

    def tolist(self):
        if self.data is NULL:
            return []
        return [self.data[i] for i in range(self.number)]

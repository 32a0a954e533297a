# cython: language_level=3
# The seed's SomeMemory, as published, on membuf: PyMem_Malloc / PyMem_Realloc / PyMem_Free become
# mb_malloc / mb_realloc / mb_free through an allocator instance, by default an instance of the
# pymem family (PyMem_* behind membuf's checks). Added to the published type: the allocator
# argument, `number` (the published type does not remember its size) and read/write access
# (len, indexing, tolist) so tests can compare contents with a model.
from membuf cimport cmembuf
from membuf._core cimport Allocator

import membuf

#: The instance used when no allocator is passed.
default_allocator = membuf.pymem()


cdef class SomeMemory:
    cdef double* data
    cdef readonly size_t number
    cdef readonly Allocator alloc

    def __cinit__(self, size_t number, Allocator alloc=None):
        if alloc is None:
            alloc = default_allocator
        alloc.retain()  # alloc.close() now raises until __dealloc__ releases it
        self.alloc = alloc
        # allocate some memory (uninitialised, may contain arbitrary data)
        self.data = <double*> cmembuf.mb_malloc(alloc.ptr, number * sizeof(double))
        if not self.data:
            raise MemoryError()
        self.number = number

    def resize(self, size_t new_number):
        # Allocates new_number * sizeof(double) bytes,
        # preserving the current content and making a best-effort to
        # re-use the original data location.
        mem = <double*> cmembuf.mb_realloc(self.alloc.ptr, self.data,
                                           new_number * sizeof(double))
        if not mem:
            raise MemoryError()
        # Only overwrite the pointer if the memory was really reallocated.
        # On error (mem is NULL), the originally memory has not been freed.
        self.data = mem
        self.number = new_number

    def __dealloc__(self):
        if self.alloc is not None:
            cmembuf.mb_free(self.alloc.ptr, self.data)  # no-op if self.data is NULL
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

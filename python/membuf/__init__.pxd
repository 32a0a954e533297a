# Makes `membuf` a Cython package: `from membuf cimport cmembuf`, `from membuf._core cimport Allocator`.

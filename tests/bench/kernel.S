/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kernel.S - links bench_kernel.ptx into the benchmark as the C string
 * bench_ptx.  The assembler finds the file through its include path.
 */
	.section .rodata
	.global bench_ptx
	.type bench_ptx, @object
	.balign 16
bench_ptx:
	.incbin "bench_kernel.ptx"
	.byte 0
	.size bench_ptx, . - bench_ptx

	.section .note.GNU-stack, "", @progbits

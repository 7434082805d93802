/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * spin_kernel.S - links spin_kernel.ptx into the fairness client as the C
 * string spin_ptx.  The assembler finds the file through its include path.
 */
	.section .rodata
	.global spin_ptx
	.type spin_ptx, @object
	.balign 16
spin_ptx:
	.incbin "spin_kernel.ptx"
	.byte 0
	.size spin_ptx, . - spin_ptx

	.section .note.GNU-stack, "", @progbits

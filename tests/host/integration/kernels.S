/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kernels.S - links the committed test kernel images into the test
 * programs: the PTX as a C string, and the two fatbins with their sizes.
 * The assembler finds the files through its include path (-Wa,-I).
 */
	.macro image sym, file, nul
	.global \sym
	.type \sym, @object
	.balign 16
\sym:
	.incbin "\file"
\sym\()_end:
	.if \nul
	.byte 0
	.endif
	.size \sym, . - \sym
	.global \sym\()_size
	.balign 8
\sym\()_size:
	.quad \sym\()_end - \sym
	.endm

	.section .rodata
	image test_ptx, test_kernels.ptx, 1
	image test_fatbin_ptx, test_kernels_ptx.fatbin, 0
	image test_fatbin_mixed, test_kernels_mixed.fatbin, 0

	.section .note.GNU-stack, "", @progbits

/* SPDX-License-Identifier: MIT */
/*
 * embed.S - links a sample's PTX into its binary as the NUL-terminated
 * string ptx_image, so the sample needs no file next to it at run time.
 * PTX_FILE (a quoted path) comes from the command line.
 */
	.section .rodata
	.global ptx_image
	.type ptx_image, @object
	.balign 16
ptx_image:
	.incbin PTX_FILE
	/* cuModuleLoadData takes PTX as a C string. */
	.byte 0
	.size ptx_image, . - ptx_image

	/* The binary needs no executable stack. */
	.section .note.GNU-stack, "", @progbits

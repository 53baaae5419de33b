/* Multiboot (v1) header and entry point of the miglab guest.
 *
 * QEMU's -kernel loader finds the header in the first 8 KiB of the ELF file, loads the
 * segments at their physical addresses and jumps to _start in 32-bit protected mode with
 * paging off, EAX = multiboot magic and EBX = address of the multiboot information.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003 /* bit 0: page-align modules, bit 1: give us the memory map */

    .section .multiboot, "a"
    .align 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

    .section .bss
    .align 16
stack_bottom:
    .skip 16384
stack_top:

    .section .text
    .global _start
_start:
    cli                     /* never take an interrupt: KVM guests here die on the first one */
    mov $stack_top, %esp
    push %ebx               /* multiboot info */
    push %eax               /* multiboot magic */
    call kmain
1:  jmp 1b                  /* kmain never returns; spin rather than hlt */

    .section .note.GNU-stack, "", @progbits

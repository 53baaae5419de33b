/* Port I/O, the time-stamp counter and the TLB flush: the only hardware the guest touches. */
#ifndef MIGLAB_IO_H
#define MIGLAB_IO_H

#include <stdint.h>

static inline void outb(uint16_t port, uint8_t value)
{
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* Flush the whole TLB by toggling CR0.WP twice.
 *
 * QEMU flushes its TCG soft-TLB whenever CR0.WP changes (with or without paging). A write
 * through a fresh TLB entry goes through QEMU's "not dirty" slow path, which marks the page
 * dirty for migration; this is what works around QEMU 7.2 losing dirty pages under TCG.
 */
static inline void flush_tlb(void)
{
    uint32_t cr0;
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    __asm__ volatile("mov %0, %%cr0" : : "r"(cr0 ^ (1u << 16)) : "memory");
    __asm__ volatile("mov %0, %%cr0" : : "r"(cr0) : "memory");
}

#endif

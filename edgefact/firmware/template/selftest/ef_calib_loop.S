/*
 * ef_calib_loop.S - a loop of known length for validating exact instruction counts.
 *
 * ef_calib_loop(n) executes exactly 2*n + 2 instructions (cbz, n x (subs, bne), bx lr); for n = 0
 * it executes 2 (cbz taken, bx lr).
 */
    .syntax unified
    .thumb
    .section .text.ef_calib_loop, "ax", %progbits
    .align 2
    .global ef_calib_loop
    .type ef_calib_loop, %function
    .thumb_func
ef_calib_loop:
    cbz r0, 2f
1:  subs r0, r0, #1
    bne 1b
2:  bx lr
    .size ef_calib_loop, . - ef_calib_loop

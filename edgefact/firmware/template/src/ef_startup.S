/*
 * ef_startup.S - vector table and reset handler for Armv7-M / Armv8-M mainline cores.
 *
 * Reset: set MSP (and MSPLIM on Armv8-M), enable the FPU/MVE (CPACR CP10/CP11) before any C code, copy .data, zero .bss,
 * paint the whole stack with EF_STACK_PAINT (for ef_stack_peak), call main(), exit with its value.
 * Every fault and unexpected interrupt goes to ef_fault_entry, which hands the stacked frame to
 * ef_fault_report() (ef_fault.c).
 */
    .syntax unified
    .thumb

    .section .vectors, "a", %progbits
    .align 7
    .global ef_vector_table
ef_vector_table:
    .word __StackTop
    .word Reset_Handler
    .rept 14
    .word ef_fault_entry        /* NMI, HardFault, MemManage, BusFault, UsageFault, SecureFault, ... */
    .endr
    .rept 96
    .word ef_fault_entry        /* external interrupts: none are enabled by the template */
    .endr

    .section .text.Reset_Handler, "ax", %progbits
    .align 2
    .global Reset_Handler
    .type Reset_Handler, %function
    .thumb_func
Reset_Handler:
    ldr r0, =__StackTop
    msr msp, r0
#if defined(__ARM_ARCH_8M_MAIN__) || defined(__ARM_ARCH_8_1M_MAIN__)
    /* Armv8-M: a stack overflow raises a STKOF UsageFault instead of corrupting .bss */
    ldr r0, =__StackLimit
    msr msplim, r0
#endif
    /* CPACR |= CP10/CP11 full access: FPU and MVE usable */
    ldr r0, =0xE000ED88
    ldr r1, [r0]
    orr r1, r1, #(0xF << 20)
    str r1, [r0]
    dsb
    isb
    /* .data: copy the load image from flash */
    ldr r0, =__data_load
    ldr r1, =__data_start
    ldr r2, =__data_end
1:  cmp r1, r2
    bhs 2f
    ldr r3, [r0], #4
    str r3, [r1], #4
    b 1b
2:  /* .bss: zero */
    ldr r1, =__bss_start
    ldr r2, =__bss_end
    movs r3, #0
3:  cmp r1, r2
    bhs 4f
    str r3, [r1], #4
    b 3b
4:  /* paint the stack from its limit up to the current SP (the top) */
    ldr r1, =__StackLimit
    mov r2, sp
    ldr r3, =0xA5A5A5A5
5:  cmp r1, r2
    bhs 6f
    str r3, [r1], #4
    b 5b
6:  bl main
    bl ef_exit
7:  b 7b
    .size Reset_Handler, . - Reset_Handler

    .section .text.ef_fault_entry, "ax", %progbits
    .align 2
    .global ef_fault_entry
    .type ef_fault_entry, %function
    .thumb_func
ef_fault_entry:
    /* r0 = the stacked exception frame (MSP or PSP per EXC_RETURN bit 2), r1 = EXC_RETURN */
    tst lr, #4
    ite eq
    mrseq r0, msp
    mrsne r0, psp
    mov r1, lr
    b ef_fault_report
    .size ef_fault_entry, . - ef_fault_entry

/*
 * boards_stm32_host.c - runs the STM32 board port (ef_board_stm32.c) on the build machine against
 * a register model, for tests/test_boards_ports.py: every register access goes through
 * ef_fake_reg(), which records the access order; USART ISR reads report TXE and TC set. Prints
 * "order <addr>" for the first access to each register, then "reg <addr> <value>" for every
 * register and "tx <byte>" for every byte written to TDR.
 */
#include <stdint.h>
#include <stdio.h>

#define EF_MAX_FAKE 64
static uintptr_t ef_addr[EF_MAX_FAKE];
static uint32_t ef_val[EF_MAX_FAKE];
static int ef_n;

static volatile uint32_t *ef_fake_reg(uintptr_t addr);
#define EF_REG(addr) (*ef_fake_reg((uintptr_t)(addr)))

#include "ef_board_stm32.c"

static volatile uint32_t *ef_fake_reg(uintptr_t addr)
{
    for (int i = 0; i < ef_n; ++i) {
        if (ef_addr[i] == addr) {
            if (addr == EF_USART_ISR) {
                ef_val[i] |= EF_ISR_TXE | EF_ISR_TC;
            }
            return &ef_val[i];
        }
    }
    if (ef_n == EF_MAX_FAKE) {
        fprintf(stderr, "too many registers\n");
        return &ef_val[0];
    }
    ef_addr[ef_n] = addr;
    /* reset values: GPIO MODER all ones (analog), the others zero; ISR: TXE|TC */
    ef_val[ef_n] = addr == EF_GPIO_BASE ? 0xFFFFFFFFu : (addr == EF_USART_ISR ? EF_ISR_TXE | EF_ISR_TC : 0u);
    printf("order 0x%08lx\n", (unsigned long)addr);
    return &ef_val[ef_n++];
}

int main(void)
{
    (void)ef_fake_reg(EF_GPIO_BASE); /* seed the MODER reset value before the port runs */
    ef_board_init();
    const char *text = "EF\n";
    for (const char *p = text; *p; ++p) {
        ef_board_putc(*p);
        printf("tx %u\n", (unsigned)*ef_fake_reg(EF_USART_TDR));
    }
    for (int i = 0; i < ef_n; ++i) {
        printf("reg 0x%08lx 0x%08x\n", (unsigned long)ef_addr[i], (unsigned)ef_val[i]);
    }
    return 0;
}

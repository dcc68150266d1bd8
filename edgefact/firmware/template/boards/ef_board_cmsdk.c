/*
 * ef_board_cmsdk.c - log UART of the Corstone-300 (MPS3 AN547 FPGA image, FVP): CMSDK UART0
 * (DATA +0x00, STATE +0x04, CTRL +0x08, BAUDDIV +0x10). Unlike the emulator default, the divider
 * is set for the real UART clock. From ef_board_cfg.h: EF_CMSDK_UART_BASE, EF_CMSDK_BAUDDIV.
 */
#include <stdint.h>

#include "ef_board_cfg.h"

#define EF_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

void ef_board_init(void);
void ef_board_putc(char c);

void ef_board_init(void)
{
    EF_REG(EF_CMSDK_UART_BASE + 0x10u) = EF_CMSDK_BAUDDIV;
    EF_REG(EF_CMSDK_UART_BASE + 0x08u) = 1u; /* TX enable */
}

void ef_board_putc(char c)
{
    while (EF_REG(EF_CMSDK_UART_BASE + 0x04u) & 1u) { /* TX buffer full */
    }
    EF_REG(EF_CMSDK_UART_BASE + 0x00u) = (uint32_t)(unsigned char)c;
}

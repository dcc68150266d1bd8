/*
 * ef_board_nrf52.c - log UART of the nRF52840 DK: the UART0 peripheral (the non-DMA UART of the
 * nRF52840 product specification, same instance address as UARTE0) on the interface MCU's virtual
 * COM port pin. Register level, no nrfx. From ef_board_cfg.h:
 *   EF_NRF_UART_BASE, EF_NRF_GPIO_BASE, EF_NRF_TX_PIN, EF_NRF_BAUDRATE (BAUDRATE register value)
 * The core runs at its reset clock (64 MHz from the internal oscillator).
 */
#include <stdint.h>

#include "ef_board_cfg.h"

#define EF_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

#define EF_UART_TASKS_STARTTX (EF_NRF_UART_BASE + 0x008u)
#define EF_UART_EVENTS_TXDRDY (EF_NRF_UART_BASE + 0x11Cu)
#define EF_UART_ENABLE (EF_NRF_UART_BASE + 0x500u)
#define EF_UART_PSELTXD (EF_NRF_UART_BASE + 0x50Cu)
#define EF_UART_PSELRXD (EF_NRF_UART_BASE + 0x514u)
#define EF_UART_TXD (EF_NRF_UART_BASE + 0x51Cu)
#define EF_UART_BAUDRATE (EF_NRF_UART_BASE + 0x524u)
#define EF_UART_CONFIG (EF_NRF_UART_BASE + 0x56Cu)
#define EF_UART_ENABLE_UART 4u

#define EF_GPIO_OUTSET (EF_NRF_GPIO_BASE + 0x508u)
#define EF_GPIO_PIN_CNF(n) (EF_NRF_GPIO_BASE + 0x700u + 4u * (n))

void ef_board_init(void);
void ef_board_putc(char c);

void ef_board_init(void)
{
    /* TX idles high: drive the pin high as an output before the UART takes it */
    EF_REG(EF_GPIO_OUTSET) = 1u << EF_NRF_TX_PIN;
    EF_REG(EF_GPIO_PIN_CNF(EF_NRF_TX_PIN)) = 3u; /* output, input buffer disconnected */
    EF_REG(EF_UART_PSELTXD) = EF_NRF_TX_PIN;
    EF_REG(EF_UART_PSELRXD) = 0xFFFFFFFFu; /* not connected */
    EF_REG(EF_UART_BAUDRATE) = EF_NRF_BAUDRATE;
    EF_REG(EF_UART_CONFIG) = 0u; /* 8N1, no flow control */
    EF_REG(EF_UART_ENABLE) = EF_UART_ENABLE_UART;
    EF_REG(EF_UART_TASKS_STARTTX) = 1u;
}

void ef_board_putc(char c)
{
    EF_REG(EF_UART_EVENTS_TXDRDY) = 0u;
    EF_REG(EF_UART_TXD) = (uint32_t)(unsigned char)c;
    while (EF_REG(EF_UART_EVENTS_TXDRDY) == 0u) {
    }
}
